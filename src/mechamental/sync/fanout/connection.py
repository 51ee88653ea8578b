"""One open event stream: a direct transport writer, or a queue drained by ASGI sends.

A direct stream is the fast path: its channel calls `transport.write` with a chunk encoded
once for every stream. While the client is slow (the transport paused writing) chunks
wait in a short list instead; a stream with more than `limit` waiting is cut off (the
client resumes with Last-Event-ID). A queued stream is the fallback for servers without
the transport extension: frames wait for the endpoint's ASGI send loop.

However a stream ends, it calls `on_close` exactly once (the registry's bookkeeping).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import NamedTuple, Protocol

from mechamental import metrics
from mechamental.sync.events.frames import LAST_CHUNK, chunk


class Credential(NamedTuple):
    """What a stream was opened with: it ends when that credential does."""

    token_id: str | None  # an API key (directly or through a ticket); None for a JWT
    expires_at: float | None  # epoch seconds: a key's expires_at, a JWT's exp


NO_CREDENTIAL = Credential(None, None)


class FlowListener(Protocol):
    """Who writes to a stream on the fast path (its channel), told when the client lags."""

    def demote(self, stream: Stream) -> None:
        """The client is slow: stop writing to it directly."""

    def promote(self, stream: Stream) -> None:
        """The client caught up: write to it directly again."""


class Stream:
    """An open stream of one user on one workspace."""

    __slots__ = (
        "closed",
        "credential",
        "flow",
        "lifetime",
        "limit",
        "on_close",
        "org_id",
        "paused",
        "pending",
        "transport",
        "user_id",
        "workspace_id",
        "writable",
        "write",
    )

    def __init__(
        self,
        *,
        org_id: str,
        workspace_id: str,
        user_id: str,
        limit: int,
        lifetime: float,
        on_close: Callable[[Stream], None],
        credential: Credential = NO_CREDENTIAL,
    ) -> None:
        self.org_id = org_id
        self.credential = credential
        self.workspace_id = workspace_id
        self.user_id = user_id
        self.lifetime = lifetime
        self.flow: FlowListener | None = None
        self.transport: asyncio.Transport | None = None
        self.write: Callable[[bytes], None] = self._enqueue
        self.paused = False
        self.pending: list[bytes] = []
        self.closed = False
        self.writable: asyncio.Event | None = None
        self.on_close = on_close
        self.limit = limit

    # Setup.
    def use_transport(self, transport: asyncio.Transport) -> None:
        """Write straight to `transport` (chunked framing is ours from now on)."""
        self.transport = transport
        self.write = transport.write

    def use_queue(self) -> None:
        """Fallback: chunks wait for the endpoint's send loop."""
        self.writable = asyncio.Event()

    # Writing.
    def send(self, frames: bytes) -> None:
        """Write SSE frames to this stream alone (framed as a chunk when direct)."""
        if self.closed or not frames:
            return
        if self.transport is None:
            self._enqueue(frames)
        elif self.paused:
            self.push(chunk(frames))
        else:
            self.write(chunk(frames))

    def push(self, data: bytes) -> None:
        """Keep `data` (a chunk when direct) until the client catches up; cut off past the limit."""
        if self.closed:
            return
        if self.transport is None:
            self._enqueue(data)
            return
        self.pending.append(data)
        if len(self.pending) > self.limit:
            self.overflow()

    def _enqueue(self, data: bytes) -> None:
        self.pending.append(data)
        if len(self.pending) > self.limit:
            self.overflow()
        elif self.writable is not None:
            self.writable.set()

    def take_pending(self) -> bytes:
        """Everything waiting, as one payload of frames (queued streams)."""
        data = b"".join(self.pending)
        self.pending = []
        return data

    # Flow control from the protocol.
    def pause_writing(self) -> None:
        """The client is not keeping up."""
        if not self.paused and not self.closed:
            self.paused = True
            if self.flow is not None:
                self.flow.demote(self)

    def resume_writing(self) -> None:
        """The client caught up: write what waited and return to the fast path."""
        if not self.paused or self.closed or self.transport is None:
            return
        self.paused = False
        if self.pending:
            data = b"".join(self.pending)
            self.pending = []
            self.transport.write(data)
        if not self.paused and self.flow is not None:
            self.flow.promote(self)
        if self.writable is not None:
            self.writable.set()

    async def wait_writable(self) -> None:
        """Wait until the client reads again (or the stream ends)."""
        while self.paused and not self.closed:
            if self.writable is None:
                self.writable = asyncio.Event()
            self.writable.clear()
            await self.writable.wait()

    # Endings.
    def overflow(self) -> None:
        """Too far behind: drop the connection; the client resumes from its last id."""
        if not self.closed:
            metrics.slow_consumer_closed()
        self.pending = []
        if self.transport is not None:
            self.transport.abort()
        self._close()

    def finish(self, final: bytes = b"") -> None:
        """End the response after `final` (SSE frames, unframed)."""
        if self.closed:
            return
        if self.transport is not None:
            if self.paused:  # a stuck client would hold the connection open: cut it
                self.transport.abort()
            else:
                self.transport.write((chunk(final) if final else b"") + LAST_CHUNK)
                self.transport.close()
        elif final:
            self.pending.append(final)
        self._close()

    def connection_lost(self) -> None:
        """The client went away."""
        self._close()

    def shutdown(self) -> None:
        """The server is stopping."""
        self.finish()

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.writable is not None:
            self.writable.set()
        self.on_close(self)
