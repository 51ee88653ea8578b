"""FastAPI dependencies that authenticate the caller and check one permission.

They sit above both `auth` (tokens, permissions) and `services` (which holds the JWT
verifier), outside the `auth` package, so that `auth` and `services` do not import each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from mechamental.auth.permissions import Permission
from mechamental.auth.principals import PRINCIPAL_SCOPE_KEY, Principal
from mechamental.auth.tokens import TOKEN_PREFIX, api_key_is_live, principal_from_api_key
from mechamental.errors import AuthenticationFailed, Forbidden
from mechamental.params import WorkspaceId
from mechamental.ratelimit.component import limits_of
from mechamental.ratelimit.policy import Kind
from mechamental.services import Services
from mechamental.types import utcnow


@dataclass(frozen=True, slots=True)
class Caller:
    """An authorized request: who is calling, in which org, and the services to serve it with.

    One dependency yields both, because each FastAPI dependency costs tens of microseconds
    per request on the hot read path.
    """

    principal: Principal
    services: Services

    @property
    def org_id(self) -> str:
        """The org in the path (already checked to be the principal's)."""
        return self.principal.org_id

    @property
    def user_id(self) -> str:
        """The calling user."""
        return self.principal.user_id


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationFailed()
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise AuthenticationFailed("Authorization must be 'Bearer <token>'")
    return token


async def authenticate(services: Services, token: str) -> Principal:
    """Resolve a bearer token to a principal, or raise 401."""
    principal: Principal | None = None
    if token.startswith(TOKEN_PREFIX):
        now = utcnow()
        async with services.db.reader() as conn:
            principal = await principal_from_api_key(conn, token, now)
        if principal is not None and principal.token_id is not None:
            # In memory only (a dict store): the flusher writes last_used_at in batches.
            services.key_usage.record(principal.token_id, now)
    elif token.count(".") == 2:
        principal = await services.jwt.verify(token)
    if principal is None:
        raise AuthenticationFailed("Invalid, expired or revoked token")
    return principal


def _authorize(request: Request, principal: Principal, org_id: str, permission: Permission) -> None:
    request.scope[PRINCIPAL_SCOPE_KEY] = principal
    # Another org's token and a missing permission look the same: 403, nothing revealed.
    if principal.org_id != org_id or not principal.can(permission):
        raise Forbidden(permission.value)


async def _rate_limit(
    request: Request, services: Services, principal: Principal, kind: Kind
) -> None:
    """Take the call from the credential's and its org's buckets (429 when empty): before
    the permission check, so that refused calls count too."""
    limits = limits_of(services)
    if limits is not None:
        await limits.rate.check(request.scope, principal, kind)


def require(permission: Permission, kind: Kind = Kind.REST) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the caller, authenticated by header, holding `permission` in `org_id`,
    within the rate limits of `kind`."""

    # Reads the path and header itself (documented in mechamental.openapi): declared
    # parameters are validated one by one by FastAPI, at ~25 us each on every request.
    async def dependency(request: Request) -> Caller:
        services: Services = request.app.state.services
        principal = await authenticate(services, _bearer(request.headers.get("authorization")))
        await _rate_limit(request, services, principal, kind)
        _authorize(request, principal, request.path_params["org_id"], permission)
        return Caller(principal, services)

    return dependency


QUERY_TOKEN_OFF = (
    "?access_token= is turned off on this server: open the stream with a ticket "
    "(POST /v1/orgs/{org_id}/workspaces/{workspace_id}/sync/tickets) and ?ticket="
)
TicketParam = Annotated[
    str | None,
    Query(
        max_length=2048,
        description="A stream ticket (POST …/sync/tickets): opens this workspace's stream only",
    ),
]


async def _from_ticket(
    services: Services, ticket: str, org_id: str, workspace_id: str
) -> Principal:
    principal = services.tickets.verify(ticket, org_id=org_id, workspace_id=workspace_id)
    if principal is not None and principal.token_id is not None:
        # A ticket dies with the key it was made from.
        now = services.clock.utcnow()
        async with services.db.reader() as conn:
            live = await api_key_is_live(conn, token_id=principal.token_id, now=now)
        if live:
            services.key_usage.record(principal.token_id, now)  # a use of the key, too
        else:
            principal = None
    if principal is None:
        raise AuthenticationFailed("Invalid or expired ticket, or its credential was revoked")
    return principal


def require_for_stream(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    """Like `require`, but also takes `?ticket=` (browsers' EventSource sends no headers),
    and `?access_token=` where the server still allows it."""

    async def dependency(
        request: Request,
        org_id: Annotated[str, Path()],
        workspace_id: WorkspaceId,
        authorization: Annotated[str | None, Header()] = None,
        ticket: TicketParam = None,
        access_token: Annotated[
            str | None,
            Query(
                description="Bearer token, for clients that cannot set headers (EventSource); "
                "off unless ALLOW_QUERY_TOKEN (tickets replace it)"
            ),
        ] = None,
    ) -> Caller:
        services: Services = request.app.state.services
        if ticket is not None:
            principal = await _from_ticket(services, ticket, org_id, workspace_id)
        elif authorization or not access_token:
            principal = await authenticate(services, _bearer(authorization))
        elif not services.settings.query_token_allowed:
            raise AuthenticationFailed(QUERY_TOKEN_OFF)
        else:
            principal = await authenticate(services, access_token)
        if principal.expires_at is not None and principal.expires_at <= services.clock.now():
            # Within a JWT's leeway: a stream would end the moment it opened.
            raise AuthenticationFailed("The credential has expired")
        await _rate_limit(request, services, principal, Kind.STREAM)
        _authorize(request, principal, org_id, permission)
        return Caller(principal, services)

    return dependency


WorkspaceReader = Annotated[Caller, Depends(require(Permission.WORKSPACE_READ))]
WorkspaceCreator = Annotated[Caller, Depends(require(Permission.WORKSPACE_CREATE))]
WorkspaceUpdater = Annotated[Caller, Depends(require(Permission.WORKSPACE_UPDATE))]
WorkspaceDeleter = Annotated[Caller, Depends(require(Permission.WORKSPACE_DELETE))]
SyncReader = Annotated[Caller, Depends(require_for_stream(Permission.SYNC_READ))]
PresenceWriter = Annotated[Caller, Depends(require(Permission.PRESENCE_WRITE, Kind.PRESENCE))]
ApiKeyManager = Annotated[Caller, Depends(require(Permission.API_KEY_MANAGE))]
WebhookManager = Annotated[Caller, Depends(require(Permission.WEBHOOK_MANAGE))]
