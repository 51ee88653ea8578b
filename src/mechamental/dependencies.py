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
from mechamental.auth.principals import Principal
from mechamental.auth.tokens import TOKEN_PREFIX, principal_from_api_key
from mechamental.errors import AuthenticationFailed, Forbidden
from mechamental.services import Services
from mechamental.types import utcnow

PRINCIPAL_SCOPE_KEY = "mechamental.principal"


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
        async with services.db.reader() as conn:
            principal = await principal_from_api_key(conn, token, utcnow())
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


def require(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    """A dependency: the caller, authenticated by header, holding `permission` in `org_id`."""

    # Reads the path and header itself (documented in mechamental.openapi): declared
    # parameters are validated one by one by FastAPI, at ~25 us each on every request.
    async def dependency(request: Request) -> Caller:
        services: Services = request.app.state.services
        principal = await authenticate(services, _bearer(request.headers.get("authorization")))
        _authorize(request, principal, request.path_params["org_id"], permission)
        return Caller(principal, services)

    return dependency


def require_for_stream(permission: Permission) -> Callable[..., Awaitable[Caller]]:
    """Like `require`, but also takes `?access_token=` (browsers' EventSource sends no headers)."""

    async def dependency(
        request: Request,
        org_id: Annotated[str, Path()],
        authorization: Annotated[str | None, Header()] = None,
        access_token: Annotated[
            str | None,
            Query(description="Bearer token, for clients that cannot set headers (EventSource)"),
        ] = None,
    ) -> Caller:
        services: Services = request.app.state.services
        token = _bearer(authorization) if authorization or not access_token else access_token
        principal = await authenticate(services, token)
        _authorize(request, principal, org_id, permission)
        return Caller(principal, services)

    return dependency


WorkspaceReader = Annotated[Caller, Depends(require(Permission.WORKSPACE_READ))]
WorkspaceCreator = Annotated[Caller, Depends(require(Permission.WORKSPACE_CREATE))]
WorkspaceUpdater = Annotated[Caller, Depends(require(Permission.WORKSPACE_UPDATE))]
WorkspaceDeleter = Annotated[Caller, Depends(require(Permission.WORKSPACE_DELETE))]
SyncReader = Annotated[Caller, Depends(require_for_stream(Permission.SYNC_READ))]
PresenceWriter = Annotated[Caller, Depends(require(Permission.PRESENCE_WRITE))]
