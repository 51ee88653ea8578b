"""HTTP endpoints for API keys: parse, authorize, call the service, encode.

Everything needs `api_key:manage` (owners and admins) in the org of the path. The secret
is in the 201 of the create and nowhere else: the list and the get never show it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from mechamental.api_keys import service
from mechamental.api_keys.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyId,
    ApiKeyList,
    ApiKeyRead,
    ListParams,
)
from mechamental.dependencies import ApiKeyManager
from mechamental.errors import ERROR_RESPONSES, TOO_LARGE
from mechamental.params import JSONBodyRoute, query_model
from mechamental.responses import json_response
from mechamental.types import utcnow
from mechamental.workspaces.cursor import decode_cursor, encode_cursor, list_key

router = APIRouter(
    prefix="/v1/orgs/{org_id}/api-keys",
    tags=["API Keys"],
    responses=ERROR_RESPONSES,
    route_class=JSONBodyRoute,
)

_list_params, _LIST_PARAMS_DOC = query_model(ListParams)
ListQuery = Annotated[ListParams, Depends(_list_params)]


@router.get(
    "",
    response_model=ApiKeyList,
    summary="List API Keys",
    openapi_extra=_LIST_PARAMS_DOC,
)
async def list_api_keys(caller: ApiKeyManager, params: ListQuery) -> Response:
    """The org's live keys (not revoked, not expired), newest first, with keyset pagination."""
    org_id = caller.org_id
    key = list_key(caller.services.cursor_key, b"mechamental.api_keys.cursor")
    after = decode_cursor(key, org_id, params.cursor) if params.cursor else None
    async with caller.services.db.reader() as conn:
        page = await service.list_api_keys(
            conn, org_id=org_id, limit=params.limit, after=after, now=utcnow()
        )
    position = page.last_position
    return json_response(
        {
            "total": page.total,
            "has_more": page.has_more,
            "next_cursor": None if position is None else encode_cursor(key, org_id, position),
            "api_keys": [service.to_api(row) for row in page.items],
        }
    )


@router.post(
    "",
    status_code=201,
    response_model=ApiKeyCreated,
    summary="Create API Key",
    responses=TOO_LARGE,
)
async def create_api_key(body: ApiKeyCreate, caller: ApiKeyManager) -> Response:
    """Mint a key; its `secret` is in this response only (only its hash is stored)."""
    async with caller.services.db.transaction() as conn:
        created = await service.create_api_key(
            conn,
            org_id=caller.org_id,
            caller_role=caller.principal.role,
            name=body.name,
            role=body.role,
            user_id=body.user_id if body.user_id is not None else caller.user_id,
            expires_at=body.expires_at,
            now=utcnow(),
        )
    return json_response(created, status_code=201)


@router.get("/{key_id}", response_model=ApiKeyRead, summary="Get API Key")
async def get_api_key(key_id: ApiKeyId, caller: ApiKeyManager) -> Response:
    """One live key of the org (without its secret)."""
    async with caller.services.db.reader() as conn:
        row = await service.get_api_key(conn, org_id=caller.org_id, key_id=key_id, now=utcnow())
    return json_response(row)


@router.delete(
    "/{key_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke API Key",
    responses={204: {"description": "Revoked: the key no longer authenticates"}},
)
async def revoke_api_key(key_id: ApiKeyId, caller: ApiKeyManager) -> Response:
    """Revoke a live key; unknown, already revoked, expired or another org's is 404."""
    async with caller.services.db.transaction() as conn:
        await service.revoke_api_key(
            conn,
            org_id=caller.org_id,
            key_id=key_id,
            caller_role=caller.principal.role,
            now=utcnow(),
        )
    return Response(status_code=204)
