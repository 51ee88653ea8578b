"""uvicorn's httptools protocol, extended so the sync hub can own an event stream's connection.

Every request's ASGI scope carries `scope["extensions"]["mechamental.transport"]`: this
protocol. Once the stream endpoint has sent its response headers through ASGI, it calls
`take_over(sink)`: from then on the hub writes pre-encoded chunks straight to the
transport (no task, queue or ASGI message per event) and the protocol reports flow
control, disconnection and server shutdown to the sink. Without the extension (another
server, or httpx's ASGI transport) the endpoint falls back to ordinary ASGI sends.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any, Protocol

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

EXTENSION = "mechamental.transport"


class _NoFlow:
    """uvicorn's flow control, once a taken-over stream's sink handles it."""

    write_paused = False

    def pause_reading(self) -> None:
        """Nothing to do."""

    def resume_reading(self) -> None:
        """Nothing to do."""

    def pause_writing(self) -> None:
        """Nothing to do."""

    def resume_writing(self) -> None:
        """Nothing to do."""


_NO_FLOW = _NoFlow()
_NO_PIPELINE: deque[Any] = deque(maxlen=0)  # shared: nothing is ever queued on it


class Sink(Protocol):
    """What owns a taken-over connection."""

    def pause_writing(self) -> None:
        """The transport's buffer is above its high-water mark."""

    def resume_writing(self) -> None:
        """The buffer drained below the low-water mark."""

    def connection_lost(self) -> None:
        """The connection is gone."""

    def shutdown(self) -> None:
        """The server is stopping: finish now."""


class RawPort(Protocol):
    """The extension's interface, as the stream endpoint sees it."""

    def take_over(self, sink: Sink) -> asyncio.Transport | None:
        """Own the connection after the response start; None if that is not possible."""


class SyncHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose connections the sync hub can take over for streaming."""

    sink: Sink | None = None

    def on_message_begin(self) -> None:
        super().on_message_begin()
        scope: Any = self.scope
        scope["extensions"] = {EXTENSION: self}

    def take_over(self, sink: Sink) -> asyncio.Transport | None:
        """Hand the connection to `sink`; the ASGI app may then return at once."""
        cycle = self.cycle
        if (
            cycle is None
            or not cycle.response_started
            or cycle.response_complete
            or cycle.disconnected
            or not cycle.chunked_encoding
            or self.transport.is_closing()
        ):
            return None
        self.sink = sink
        # uvicorn is done with this response: it neither frames nor completes it.
        cycle.response_complete = True
        cycle.keep_alive = False
        # Drop what a long-lived stream no longer needs (memory per idle stream counts):
        # the request's cycle, parser and scope, and uvicorn's flow control (the sink's now).
        self.cycle = None  # type: ignore[assignment]
        self.parser = None  # type: ignore[assignment]
        self.scope = None  # type: ignore[assignment]
        self.headers = None  # type: ignore[assignment]
        self.url = b""
        self.pipeline = _NO_PIPELINE
        self.flow = _NO_FLOW  # type: ignore[assignment]
        return self.transport

    def data_received(self, data: bytes) -> None:
        if self.sink is None:
            super().data_received(data)
        # A taken-over stream reads nothing more from its client.

    def connection_lost(self, exc: Exception | None) -> None:
        sink, self.sink = self.sink, None
        super().connection_lost(exc)
        if sink is not None:
            sink.connection_lost()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self.sink is not None:
            self.sink.pause_writing()

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.sink is not None:
            self.sink.resume_writing()

    def shutdown(self) -> None:
        if self.sink is not None:
            self.sink.shutdown()
        super().shutdown()
