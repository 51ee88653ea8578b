"""uvicorn's httptools protocol, extended so the sync hub can own an event stream's connection.

Every request's ASGI scope carries `scope["extensions"]["mechamental.transport"]`: this
protocol. Once the stream endpoint has sent its response headers through ASGI, it calls
`take_over(sink)`: from then on the hub writes pre-encoded chunks straight to the
transport (no task, queue or ASGI message per event) and the protocol reports flow
control, disconnection and server shutdown to the sink. Without the extension (another
server, or httpx's ASGI transport) the endpoint falls back to ordinary ASGI sends.

The same class guards the edge (see `mechamental.edge`): one timer per connection bounds
the wait for a request head (from the connection's start, or the first byte of a later
request) and then for its body; a connection accepted near the open-file limit answers
503; a request that is not valid HTTP gets a 400 envelope instead of uvicorn's plain text.
A timer is armed only while a request is incomplete after a read, so a request that
arrives whole costs none (a uvloop `call_later` + `cancel` is ~2 us).

It touches uvicorn internals (`cycle`, `parser`, `flow`, `pipeline`, `send_400_response`):
pyproject bounds uvicorn to the versions tested, and tests/test_takeover.py fails if the
direct-write path is not taken under `serve`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mechamental import edge

EXTENSION = "mechamental.transport"
# How a stream is written, recorded in its scope and its request log line: "direct"
# (taken over) or "asgi" (the fallback); under `serve` it must be "direct".
STREAM_WRITE_KEY = "mechamental.stream_write"


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


class _EdgeState:
    """A connection's request deadline and how far its current request has arrived."""

    __slots__ = ("in_body", "in_head", "timer", "timing")

    def __init__(self) -> None:
        self.timer: asyncio.TimerHandle | None = None  # the head or body deadline, if one runs
        self.timing = ""  # which: "head" or "body"
        self.in_head = False  # bytes of a request head have arrived, the head is not complete
        self.in_body = False  # the head is complete, the body is not


class SyncHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose connections the sync hub can take over for streaming."""

    # Our attributes live in slots, not in the instance dict: uvicorn's protocol already has
    # about 30 attributes, and CPython's shared-key instance dicts stop at 30 keys, so one more
    # key made every connection's dict a full one (measured: 2.9 -> 4.3 KB per idle stream).
    __slots__ = ("_edge", "sink")
    sink: Sink | None
    _edge: _EdgeState

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.sink = None
        self._edge = _EdgeState()
        super().connection_made(transport)
        limits = edge.limits()
        sock = transport.get_extra_info("socket")
        if sock is not None and edge.near_fd_limit(sock.fileno(), limits.fd_reserve):
            self.app = edge.refuse  # whatever this connection asks gets a 503
            self._arm("head", edge.REFUSED_HEAD_SECONDS, self._head_timed_out)
        else:  # the first request's head is due within the timeout of the connection
            self._arm("head", limits.head_timeout, self._head_timed_out)

    def _arm(self, timing: str, delay: float, callback: Callable[[], None]) -> None:
        if self._edge.timer is not None:
            self._edge.timer.cancel()
        self._edge.timing = timing
        self._edge.timer = self.loop.call_later(delay, callback)

    def _disarm(self) -> None:
        if self._edge.timer is not None:
            self._edge.timer.cancel()
            self._edge.timer = None
            self._edge.timing = ""

    def _set_deadline(self) -> None:
        """After a read: a deadline for the incomplete head or body, none for a whole request."""
        if self._edge.in_head:
            if self._edge.timing != "head":
                self._arm("head", edge.limits().head_timeout, self._head_timed_out)
        elif self._edge.in_body:
            if self._edge.timing != "body":
                self._arm("body", edge.limits().body_timeout, self._body_timed_out)
        elif self._edge.timer is not None:
            self._disarm()

    def _head_timed_out(self) -> None:
        self._edge.timer, self._edge.timing = None, ""
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if self._edge.in_head and (cycle is None or cycle.response_complete):
            self._write_error(408, "REQUEST_TIMEOUT", "The request head was not received in time")
        else:  # an idle connection, or one whose previous answer is still being written
            self.transport.close()

    def _body_timed_out(self) -> None:
        self._edge.timer, self._edge.timing = None, ""
        cycle = self.cycle
        if self.transport.is_closing() or cycle is None:
            return
        if not cycle.response_started:
            self.transport.write(
                edge.raw_error(
                    408,
                    "REQUEST_TIMEOUT",
                    "The request body was not received in time",
                    self.server_state.default_headers,
                )
            )
        # The app sees a disconnect and whatever it sends is dropped.
        cycle.disconnected = True
        cycle.message_event.set()
        self.transport.close()

    def _write_error(self, status: int, error: str, message: str) -> None:
        extra = self.server_state.default_headers
        self.transport.write(edge.raw_error(status, error, message, extra))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """Not HTTP (a raw 0xFF, a broken request line): the envelope, not uvicorn's text."""
        self._disarm()
        self._write_error(400, "BAD_REQUEST", "The request is not valid HTTP/1.1")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        scope: Any = self.scope
        scope["extensions"] = {EXTENSION: self}
        self._edge.in_head = True

    def on_headers_complete(self) -> None:
        self._edge.in_head, self._edge.in_body = False, True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._edge.in_body = False
        super().on_message_complete()

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
        if self.sink is not None:  # a taken-over stream reads nothing more from its client
            return
        super().data_received(data)
        if not self.transport.is_closing():
            self._set_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
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
