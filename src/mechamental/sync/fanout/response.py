"""The stream endpoint's response: an ASGI callable handing over to `StreamSessions.serve`."""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mechamental.sync.fanout.session import StreamPlan, StreamSessions


class EventStreamResponse(Response):
    """`text/event-stream` of one workspace, written by the stream's session."""

    media_type = "text/event-stream"

    def __init__(self, sessions: StreamSessions, plan: StreamPlan) -> None:
        self.sessions = sessions
        self.plan = plan
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.sessions.serve(self.plan, scope, receive, send)
