"""HTTP endpoints of Workspace Sync: the event stream and presence.

Every endpoint takes its caller and workspace through one dependency (`InWorkspace`):
authenticated, authorized in the org of the path, and the workspace of the path found in
that org (another org's workspace is 404). No handler looks the workspace up itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query
from starlette.responses import Response

from mechamental.auth.permissions import Permission
from mechamental.dependencies import Caller, require, require_for_stream
from mechamental.errors import ERROR_RESPONSES, ErrorBody, ResourceNotFound
from mechamental.params import NO_NUL, WorkspaceId
from mechamental.ratelimit.component import limits_of
from mechamental.ratelimit.policy import Kind
from mechamental.responses import json_response
from mechamental.sync.events import log as eventlog
from mechamental.sync.fanout.connection import Credential
from mechamental.sync.fanout.response import EventStreamResponse
from mechamental.sync.hub import SyncHub, hub_of
from mechamental.sync.schemas import PresenceList, StreamTicket

router = APIRouter(
    prefix="/v1/orgs/{org_id}/workspaces/{workspace_id}/sync",
    tags=["Workspace Sync"],
    responses=ERROR_RESPONSES,
)

NULL_BODY = b"null"
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "The shared presence store (Redis) is unreachable"}
}
# For text/event-stream, OpenAPI 3.1 tools read `schema` as one event as an SSE parser
# delivers it (OpenAPI 3.2 calls this `itemSchema`), not as the body.
STREAM_EVENT = {
    "type": "object",
    "required": ["event", "id", "data"],
    "properties": {
        "event": {"type": "string", "description": "The event type, e.g. `workspace.updated`"},
        "id": {"type": "string", "description": "The resume point, for Last-Event-ID"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "description": "One line of JSON: `{id, type, org_id, workspace_id, actor_id, "
            "occurred_at, data}`",
        },
        "retry": {"type": "integer", "description": "Reconnection delay hint (ms)"},
    },
}
STREAM_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-Sent Events: `retry:`, then `sync.connected`, then the "
        "workspace's events (`id:`, `event:`, one-line JSON `data:`), heartbeat comments, and "
        "`sync.timeout` after `timeout` seconds. A resume (Last-Event-ID) of a workspace "
        "deleted since gets the events it missed, up to `workspace.deleted`, then ends.",
        "content": {"text/event-stream": {"schema": STREAM_EVENT}},
    }
}
# Both spellings of the resume point have the same cap (an event id is under 64 characters).
EVENT_ID_MAX = 64
ResourceType = Annotated[
    str,
    Query(
        min_length=1, max_length=100, pattern=NO_NUL, description="Type of resource being viewed"
    ),
]
ResourceId = Annotated[
    str,
    Query(min_length=1, max_length=200, pattern=NO_NUL, description="ID of resource being viewed"),
]


@dataclass(frozen=True, slots=True)
class InWorkspace:
    """An authorized caller and the workspace of the path, found in the caller's org."""

    caller: Caller
    hub: SyncHub
    workspace_id: str

    @property
    def org_id(self) -> str:
        """The org of the path (the caller's)."""
        return self.caller.org_id

    @property
    def user_id(self) -> str:
        """The calling user."""
        return self.caller.user_id


def in_workspace(
    authorize: Callable[..., Awaitable[Caller]], *, deleted_too: bool = False
) -> Callable[..., Awaitable[InWorkspace]]:
    """A dependency: `authorize`'s caller, and the path's workspace in their org (else 404).

    With `deleted_too`, a workspace of the org deleted while its log still holds the
    `workspace.deleted` event also passes: the stream resumes it up to that event.
    """

    # `org_id` is the path's, which `authorize` has matched against the caller's.
    async def dependency(
        org_id: str, workspace_id: WorkspaceId, caller: Caller = Depends(authorize)
    ) -> InWorkspace:
        hub = hub_of(caller.services)
        async with hub.db.reader() as conn:
            found = await eventlog.position(conn, org_id=org_id, workspace_id=workspace_id)
            if found is None and deleted_too:
                found = await eventlog.deleted_at(conn, org_id=org_id, workspace_id=workspace_id)
        if found is None:
            raise ResourceNotFound("workspace", workspace_id)
        return InWorkspace(caller, hub, workspace_id)

    return dependency


StreamReader = Annotated[
    InWorkspace,
    Depends(in_workspace(require_for_stream(Permission.SYNC_READ), deleted_too=True)),
]
# Presence reads and tickets take the token from the Authorization header only.
HeaderSyncReader = Annotated[InWorkspace, Depends(in_workspace(require(Permission.SYNC_READ)))]
# Presence calls have their own rate limits (mechamental.ratelimit): they come in bursts.
PresenceReader = Annotated[
    InWorkspace, Depends(in_workspace(require(Permission.SYNC_READ, Kind.PRESENCE)))
]
PresenceWriter = Annotated[
    InWorkspace, Depends(in_workspace(require(Permission.PRESENCE_WRITE, Kind.PRESENCE)))
]


@router.get(
    "/stream",
    summary="Stream Workspace Events",
    response_model=None,
    responses=STREAM_DOC,
)
async def stream_events(
    scope: StreamReader,
    timeout: Annotated[  # noqa: ASYNC109  (the reference's name for the stream's lifetime)
        int, Query(ge=60, le=7200, description="Stream timeout in seconds")
    ] = 3600,
    last_event_id: Annotated[
        str | None,
        Query(
            max_length=EVENT_ID_MAX, description="Resume after this event id (like Last-Event-ID)"
        ),
    ] = None,
    last_event_id_header: Annotated[
        str | None,
        Header(
            alias="last-event-id",
            max_length=EVENT_ID_MAX,
            description="Resume after this event id (EventSource)",
        ),
    ] = None,
) -> Response:
    """Live events of the workspace as Server-Sent Events, resumable with Last-Event-ID."""
    sessions = scope.hub.sessions
    principal = scope.caller.principal
    resume_from = last_event_id_header if last_event_id_header is not None else last_event_id
    limits = limits_of(scope.caller.services)
    slot = None
    if limits is not None:  # 429 over a cap, before anything is read or sent
        slot = await limits.streams.acquire(
            scope.org_id, scope.user_id, resuming=resume_from is not None
        )
    try:
        plan = await sessions.prepare(
            org_id=scope.org_id,
            workspace_id=scope.workspace_id,
            user_id=scope.user_id,
            credential=Credential(principal.token_id, principal.expires_at),
            last_event_id=resume_from,
            lifetime=scope.hub.stream_lifetime(timeout),
        )
    except BaseException:
        if slot is not None:
            slot.release()
        raise
    return EventStreamResponse(sessions, plan, unopened=slot.release if slot else None)


@router.post(
    "/tickets",
    status_code=201,
    summary="Create Stream Ticket",
    response_model=StreamTicket,
)
async def create_stream_ticket(scope: HeaderSyncReader) -> Response:
    """A short-lived ticket that opens this workspace's stream: no long-lived secret in a URL.

    It carries the caller and the credential it was made from: it stops working when that
    key is revoked or expires, and the streams it opened end then (`sync.unauthorized`).
    """
    services = scope.caller.services
    issued = services.tickets.issue(scope.caller.principal, workspace_id=scope.workspace_id)
    org, workspace = quote(scope.org_id, safe=""), quote(scope.workspace_id, safe="")
    stream_url = f"/v1/orgs/{org}/workspaces/{workspace}/sync/stream?ticket={issued.ticket}"
    body = {"ticket": issued.ticket, "expires_at": issued.expires_at, "stream_url": stream_url}
    return json_response(body, status_code=201, headers={"Cache-Control": "no-store"})


@router.post("/presence/join", summary="Announce Presence Join", responses=UNAVAILABLE)
async def presence_join(scope: PresenceWriter) -> Response:
    """The caller is present (refreshes the presence TTL)."""
    await scope.hub.presence.join(
        org_id=scope.org_id, workspace_id=scope.workspace_id, user_id=scope.user_id
    )
    return Response(NULL_BODY, media_type="application/json")


@router.post("/presence/leave", summary="Announce Presence Leave", responses=UNAVAILABLE)
async def presence_leave(scope: PresenceWriter) -> Response:
    """The caller leaves (a quiet no-op if they were not present)."""
    await scope.hub.presence.leave(
        org_id=scope.org_id, workspace_id=scope.workspace_id, user_id=scope.user_id
    )
    return Response(NULL_BODY, media_type="application/json")


@router.post("/presence/viewing", summary="Announce Presence Viewing", responses=UNAVAILABLE)
async def presence_viewing(
    scope: PresenceWriter, resource_type: ResourceType, resource_id: ResourceId
) -> Response:
    """The caller views a resource of the workspace (and is present)."""
    await scope.hub.presence.view(
        org_id=scope.org_id,
        workspace_id=scope.workspace_id,
        user_id=scope.user_id,
        viewing=(resource_type, resource_id),
    )
    return Response(NULL_BODY, media_type="application/json")


@router.get(
    "/presence", summary="List Present Members", response_model=PresenceList, responses=UNAVAILABLE
)
async def presence_list(
    scope: PresenceReader,
    resource_type: Annotated[
        str | None, Query(max_length=100, description="Only members viewing this type")
    ] = None,
    resource_id: Annotated[
        str | None, Query(max_length=200, description="Only members viewing this resource")
    ] = None,
) -> Response:
    """Who is present (one entry per user, with their open streams and viewed resource)."""
    members = await scope.hub.presence.list_members(
        org_id=scope.org_id,
        workspace_id=scope.workspace_id,
        resource_type=resource_type,
        resource_id=resource_id,
    )
    return json_response({"members": members})
