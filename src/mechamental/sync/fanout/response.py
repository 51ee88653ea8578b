"""The stream endpoint's response: an ASGI callable handing over to `StreamSessions.serve`."""

from __future__ import annotations

from collections.abc import Callable

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mechamental.sync.fanout.protocol import STREAM_WRITE_KEY
from mechamental.sync.fanout.session import StreamPlan, StreamSessions


class EventStreamResponse(Response):
    """`text/event-stream` of one workspace, written by the stream's session."""

    media_type = "text/event-stream"

    def __init__(
        self,
        sessions: StreamSessions,
        plan: StreamPlan,
        *,
        unopened: Callable[[], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.plan = plan
        # Called if the stream never opened (the client left before the headers): an opened
        # stream's end is the registry's to handle (its listener), never this response's.
        self.unopened = unopened
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.sessions.serve(self.plan, scope, receive, send)
        finally:
            if self.unopened is not None and STREAM_WRITE_KEY not in scope:
                self.unopened()
