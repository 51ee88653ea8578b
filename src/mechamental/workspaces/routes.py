"""HTTP endpoints for workspaces: parse, authorize, call the service, encode."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query
from starlette.responses import Response

from mechamental.auth.dependencies import (
    WorkspaceCreator,
    WorkspaceDeleter,
    WorkspaceReader,
    WorkspaceUpdater,
)
from mechamental.db import Conn
from mechamental.errors import ERROR_RESPONSES, ErrorBody, validation_error
from mechamental.responses import dumps, json_response
from mechamental.services import ServicesDep
from mechamental.workspaces import idempotency, service
from mechamental.workspaces.cursor import Position, decode_cursor, encode_cursor
from mechamental.workspaces.schemas import (
    MessageResponse,
    WorkspaceCreate,
    WorkspaceList,
    WorkspaceRead,
    WorkspaceUpdate,
)

router = APIRouter(
    prefix="/v1/orgs/{org_id}/workspaces", tags=["Workspaces"], responses=ERROR_RESPONSES
)

IfMatch = Annotated[
    str | None, Header(description="ETag from a previous read; 412 if the workspace changed")
]
PRECONDITION = {412: {"model": ErrorBody, "description": "If-Match did not match"}}
TOO_LARGE = {413: {"model": ErrorBody, "description": "Body over 64 KiB"}}


def _org_must_match(org_id: str, given: str | None, loc: list[str | int]) -> None:
    if given is not None and given != org_id:
        raise validation_error(loc, "organization_id must equal the org_id in the path", given,
                               "value_error")  # fmt: skip


@router.get("", response_model=WorkspaceList, summary="List Workspaces")
async def list_workspaces(
    org_id: str,
    principal: WorkspaceReader,
    services: ServicesDep,
    organization_id: str | None = None,
    limit: Annotated[
        int, Query(ge=1, le=200, description="Maximum number of items to return (1-200)")
    ] = 50,
    cursor: Annotated[
        str | None,
        Query(description="Cursor for pagination (from previous response's next_cursor)"),
    ] = None,
    is_active: bool | None = None,
    tag: Annotated[str | None, Query(max_length=64, description="Only workspaces with this tag")] = None,
    region: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=100, description="Name contains (any case)")] = None,
) -> Response:
    """List the org's workspaces, newest first, with keyset pagination."""
    _org_must_match(org_id, organization_id, ["query", "organization_id"])
    key = services.cursor_key
    after = decode_cursor(key, org_id, cursor) if cursor else None
    filters = service.ListFilters(is_active=is_active, tag=tag, region=region, q=q)
    async with services.db.reader() as conn:
        page = await service.list_workspaces(
            conn, org_id=org_id, limit=limit, after=after, filters=filters
        )
    next_cursor = None
    if page.has_more:
        last = page.items[-1]
        next_cursor = encode_cursor(key, org_id, Position(last["created_at"], last["workspace_id"]))
    return json_response(
        {
            "total": page.total,
            "has_more": page.has_more,
            "next_cursor": next_cursor,
            "workspaces": [service.to_api(row) for row in page.items],
        }
    )


@router.post(
    "",
    status_code=201,
    response_model=WorkspaceRead,
    summary="Create Workspace",
    responses=TOO_LARGE,
)
async def create_workspace(
    org_id: str,
    body: WorkspaceCreate,
    principal: WorkspaceCreator,
    services: ServicesDep,
    idempotency_key: Annotated[
        str | None, Header(description="Same key and body within 24 h replays the first answer")
    ] = None,
) -> Response:
    """Create a workspace; its bucket is provisioned in the background (`pending`)."""
    settings = services.settings
    _org_must_match(org_id, body.organization_id, ["body", "organization_id"])
    region = body.region if body.region is not None else settings.default_region
    if region not in settings.allowed_regions:
        raise validation_error(["body", "region"], "Region must be one of the allowed regions",
                               region, "value_error")  # fmt: skip
    values = body.model_dump(exclude={"organization_id", "region"})

    async def create(conn: Conn) -> idempotency.StoredResponse:
        row = await service.create_workspace(
            conn,
            org_id=org_id,
            owner_id=principal.user_id,
            values=values,
            region=region,
            bucket_prefix=settings.bucket_prefix,
        )
        return idempotency.StoredResponse(201, dumps(service.to_api(row)))

    stored, replayed = await idempotency.run_once(
        services.db,
        org_id=org_id,
        user_id=principal.user_id,
        key=idempotency_key,
        digest=idempotency.request_hash(body.model_dump(mode="json", exclude_unset=True)),
        ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
        action=create,
    )
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(stored.body, stored.status_code, headers, media_type="application/json")


@router.get("/{workspace_id}", response_model=WorkspaceRead, summary="Get Workspace")
async def get_workspace(
    org_id: str,
    workspace_id: str,
    principal: WorkspaceReader,
    services: ServicesDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """One workspace, with its ETag."""
    async with services.db.reader() as conn:
        row = await service.get_workspace(conn, org_id=org_id, workspace_id=workspace_id)
    tag = service.etag(row)
    if if_none_match is not None and tag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers={"ETag": tag})
    return json_response(service.to_api(row), headers={"ETag": tag})


@router.put(
    "/{workspace_id}",
    response_model=WorkspaceRead,
    summary="Update Workspace",
    responses={**PRECONDITION, **TOO_LARGE},
)
async def update_workspace(
    org_id: str,
    workspace_id: str,
    principal: WorkspaceUpdater,
    services: ServicesDep,
    body: Annotated[WorkspaceUpdate, Body()],
    if_match: IfMatch = None,
) -> Response:
    """Change the fields sent; `region` cannot change."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    async with services.db.transaction() as conn:
        row = await service.update_workspace(
            conn,
            org_id=org_id,
            workspace_id=workspace_id,
            actor_id=principal.user_id,
            changes=changes,
            if_match=if_match,
        )
    return json_response(service.to_api(row), headers={"ETag": service.etag(row)})


@router.delete(
    "/{workspace_id}",
    response_model=MessageResponse,
    summary="Delete Workspace",
    responses=PRECONDITION,
)
async def delete_workspace(
    org_id: str,
    workspace_id: str,
    principal: WorkspaceDeleter,
    services: ServicesDep,
    if_match: IfMatch = None,
) -> Response:
    """Delete a workspace; its bucket is removed in the background."""
    async with services.db.transaction() as conn:
        await service.delete_workspace(
            conn,
            org_id=org_id,
            workspace_id=workspace_id,
            actor_id=principal.user_id,
            if_match=if_match,
        )
    return json_response({"message": f"Workspace {workspace_id} deleted"})
