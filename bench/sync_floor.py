"""The floor for the sync benchmark: a minimal raw-asyncio SSE server on uvloop.

A set of transports; `POST /trigger?seq=N&size=S` writes one pre-encoded chunked frame to
each of them and answers 204. Anything else is a stream: response head, a retry hint and
a first frame, then the transport joins the set. Run: python bench/sync_floor.py PORT
"""

from __future__ import annotations

import asyncio
import sys

import uvloop

HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
STREAMS: set[asyncio.Transport] = set()


def chunk(data: bytes) -> bytes:
    """One HTTP/1.1 chunk."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def frame(seq: int, size: int) -> bytes:
    """An SSE frame of about `size` bytes."""
    head = b"id: %d-floor\nevent: bench\ndata: " % seq
    return head + b'{"pad":"' + b"x" * max(0, size - len(head) - 12) + b'"}\n\n'


class Connection(asyncio.Protocol):
    """A stream, or a trigger request."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is no subclass)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if b"\r\n\r\n" not in self.buffer:
            return
        line = self.buffer.split(b"\r\n", 1)[0]
        self.buffer = b""
        assert self.transport is not None
        if line.startswith(b"POST /trigger"):
            query = dict(p.split(b"=") for p in line.split(b" ")[1].split(b"?")[1].split(b"&"))
            data = chunk(frame(int(query[b"seq"]), int(query[b"size"])))
            for transport in STREAMS:
                transport.write(data)
            self.transport.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            return
        self.transport.write(HEAD + chunk(b"retry: 3000\n\n" + frame(0, 200)))
        STREAMS.add(self.transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            STREAMS.discard(self.transport)


async def main(port: int) -> None:
    """Serve until killed."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Connection, "127.0.0.1", port, backlog=4096)
    print("ready", flush=True)
    await server.serve_forever()


if __name__ == "__main__":
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(main(int(sys.argv[1])))
