"""FastAPI dependencies that authenticate the caller and check one permission."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from mechamental.auth.permissions import Permission
from mechamental.auth.principals import Principal
from mechamental.auth.tokens import TOKEN_PREFIX, principal_from_api_key
from mechamental.errors import AuthenticationFailed, Forbidden
from mechamental.services import Services
from mechamental.types import utcnow

PRINCIPAL_SCOPE_KEY = "mechamental.principal"


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
        principal = services.jwt.verify(token)
    if principal is None:
        raise AuthenticationFailed("Invalid, expired or revoked token")
    return principal


def _authorize(request: Request, principal: Principal, org_id: str, permission: Permission) -> None:
    request.scope[PRINCIPAL_SCOPE_KEY] = principal
    # Another org's token and a missing permission look the same: 403, nothing revealed.
    if principal.org_id != org_id or not principal.can(permission):
        raise Forbidden(permission.value)


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the caller, authenticated by header, holding `permission` in `org_id`."""

    async def dependency(
        request: Request,
        org_id: Annotated[str, Path()],
        authorization: Annotated[str | None, Header()] = None,
    ) -> Principal:
        principal = await authenticate(request.app.state.services, _bearer(authorization))
        _authorize(request, principal, org_id, permission)
        return principal

    return dependency


def require_for_stream(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    """Like `require`, but also takes `?access_token=` (browsers' EventSource sends no headers)."""

    async def dependency(
        request: Request,
        org_id: Annotated[str, Path()],
        authorization: Annotated[str | None, Header()] = None,
        access_token: Annotated[
            str | None,
            Query(description="Bearer token, for clients that cannot set headers (EventSource)"),
        ] = None,
    ) -> Principal:
        token = _bearer(authorization) if authorization or not access_token else access_token
        principal = await authenticate(request.app.state.services, token)
        _authorize(request, principal, org_id, permission)
        return principal

    return dependency


WorkspaceReader = Annotated[Principal, Depends(require(Permission.WORKSPACE_READ))]
WorkspaceCreator = Annotated[Principal, Depends(require(Permission.WORKSPACE_CREATE))]
WorkspaceUpdater = Annotated[Principal, Depends(require(Permission.WORKSPACE_UPDATE))]
WorkspaceDeleter = Annotated[Principal, Depends(require(Permission.WORKSPACE_DELETE))]
SyncReader = Annotated[Principal, Depends(require_for_stream(Permission.SYNC_READ))]
PresenceWriter = Annotated[Principal, Depends(require(Permission.PRESENCE_WRITE))]
