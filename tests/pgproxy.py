"""A TCP proxy in front of PostgreSQL that can break like a real database does (tests only).

It runs its own event loop in a thread. `cut()` drops every open connection and refuses
new ones (a lost server); `starting()` answers new connections the way a PostgreSQL that
is starting up does (FATAL 57P03); `restore()` forwards again. Only this proxy's clients
are affected: the shared server on 5432 is never touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from concurrent.futures import Future
from typing import Any

from tests.ports import free_port

SSL_REQUEST = 80877103


def _fatal(code: str, message: str) -> bytes:
    fields = b"".join(
        kind + value.encode() + b"\0"
        for kind, value in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", code), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


class PgProxy:
    """Forwards 127.0.0.1:<port> to `upstream`, except while broken."""

    def __init__(self, upstream_port: int = 5432) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.mode = "forward"  # "forward" | "starting"
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    def url(self, database: str) -> str:
        """A SQLAlchemy URL for `database` through the proxy."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def _call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=10)

    def start(self) -> PgProxy:
        """Start forwarding."""
        self._thread.start()
        self._call(self._listen())
        return self

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        self._call(self._cut())

    def starting(self) -> None:
        """Drop every connection; new ones hear "the database system is starting up"."""
        self.mode = "starting"
        self._call(self._drop_all())
        self._call(self._listen())

    def restore(self) -> None:
        """Forward again."""
        self.mode = "forward"
        self._call(self._listen())

    def close(self) -> None:
        """Stop the proxy and its thread."""
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._drop_all()

    async def _drop_all(self) -> None:
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._open.add(writer)
        try:
            if self.mode == "starting":
                await self._refuse_startup(reader, writer)
                return
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
            self._open.add(up_writer)
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        except OSError:
            pass
        finally:
            for end in (writer,):
                self._open.discard(end)
                end.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            self._open.discard(writer)
            writer.transport.abort()

    async def _refuse_startup(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, OSError):
            while True:
                (length,) = struct.unpack("!I", await reader.readexactly(4))
                payload = await reader.readexactly(length - 4)
                if length == 8 and struct.unpack("!I", payload)[0] == SSL_REQUEST:
                    writer.write(b"N")  # no TLS; the startup message follows
                    continue
                writer.write(_fatal("57P03", "the database system is starting up"))
                await writer.drain()
                return
