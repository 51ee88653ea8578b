"""A small Server-Sent Events client on raw asyncio sockets (chunked HTTP/1.1 responses)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SSE:
    """One event as a client sees it."""

    id: str | None
    event: str
    data: dict[str, Any]

    @property
    def seq(self) -> int:
        """The position in the workspace's order, from the id."""
        assert self.id is not None
        return int(self.id.split("-")[0])


@dataclass
class Stream:
    """An open event stream."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    status: int
    headers: dict[str, str]
    retry: int | None = None
    comments: int = 0
    ended: bool = False
    _buffer: str = ""
    _queue: list[SSE] = field(default_factory=list)

    async def _chunk(self) -> str | None:
        size_line = await self.reader.readline()
        if not size_line:
            raise ConnectionError("connection closed mid-response")
        size = int(size_line.strip().split(b";")[0], 16)
        if size == 0:
            await self.reader.readline()
            return None
        data = await self.reader.readexactly(size + 2)
        return data[:-2].decode()

    def _parse(self) -> None:
        while "\n\n" in self._buffer:
            block, self._buffer = self._buffer.split("\n\n", 1)
            fields: dict[str, str] = {}
            for line in block.split("\n"):
                if line.startswith(":"):
                    self.comments += 1
                    continue
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value
            if "retry" in fields:
                self.retry = int(fields["retry"])
            if "event" in fields:
                data = json.loads(fields.get("data", "null"))
                self._queue.append(SSE(fields.get("id"), fields["event"], data))

    async def next(self, within: float = 10.0) -> SSE:
        """The next event (comments skipped); fails after `within` seconds."""
        deadline = time.monotonic() + within
        while not self._queue:
            if self.ended:
                raise EOFError("the stream ended")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no event in time")
            try:
                text = await asyncio.wait_for(self._chunk(), remaining)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.ended = True
                raise EOFError("the connection dropped") from exc
            if text is None:
                self.ended = True
            else:
                self._buffer += text
                self._parse()
        return self._queue.pop(0)

    async def take(self, count: int, within: float = 10.0) -> list[SSE]:
        """The next `count` events."""
        return [await self.next(within) for _ in range(count)]

    async def until(self, event: str, within: float = 10.0) -> list[SSE]:
        """Events up to and including the first of type `event`."""
        out: list[SSE] = []
        while not out or out[-1].event != event:
            out.append(await self.next(within))
        return out

    async def wait_end(self, within: float = 10.0) -> list[SSE]:
        """Every remaining event until the response (or connection) ends."""
        out: list[SSE] = []
        while True:
            try:
                out.append(await self.next(within))
            except EOFError:
                return out

    def close(self) -> None:
        """Drop the connection (like a closed browser tab)."""
        self.writer.transport.abort()


async def open_stream(
    port: int,
    path: str,
    headers: dict[str, str] | None = None,
    *,
    rcvbuf: int | None = None,
    host: str = "127.0.0.1",
) -> Stream:
    """GET `path` and read the response head; the body is read event by event."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    reader, writer = await asyncio.open_connection(sock=sock, limit=1 << 22)
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    status_line, *header_lines = head.decode().split("\r\n")
    parsed = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            parsed[name.strip().lower()] = value.strip()
    stream = Stream(reader, writer, int(status_line.split()[1]), parsed)
    if stream.status != 200:
        stream.ended = True
    return stream


async def read_error(stream: Stream) -> dict[str, Any]:
    """The JSON body of a non-200 response."""
    length = int(stream.headers.get("content-length", "0"))
    body = await stream.reader.readexactly(length)
    stream.close()
    result: dict[str, Any] = json.loads(body)
    return result
