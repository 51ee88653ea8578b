"""The stream endpoint's response: an ASGI callable handing over to `streaming.serve`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mechamental.sync.fanout import session as streaming

if TYPE_CHECKING:
    from mechamental.sync.hub import SyncHub


class EventStreamResponse(Response):
    """`text/event-stream` of one workspace, written by the sync hub."""

    media_type = "text/event-stream"

    def __init__(self, hub: SyncHub, plan: streaming.StreamPlan) -> None:
        self.hub = hub
        self.plan = plan
        self.status_code = 200
        self.background: BackgroundTask | None = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await streaming.serve(self.hub, self.plan, scope, receive, send)
