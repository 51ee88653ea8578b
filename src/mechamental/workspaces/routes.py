"""HTTP endpoints for workspaces: parse, authorize, call the service, encode."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request
from starlette.responses import Response

from mechamental.db import Conn
from mechamental.dependencies import (
    WorkspaceCreator,
    WorkspaceDeleter,
    WorkspaceReader,
    WorkspaceUpdater,
)
from mechamental.errors import ERROR_RESPONSES, TOO_LARGE, ErrorBody, validation_error
from mechamental.params import JSONBodyRoute, WorkspaceId, query_model
from mechamental.responses import dumps, json_response
from mechamental.workspaces import idempotency, service
from mechamental.workspaces.cursor import decode_cursor, encode_cursor
from mechamental.workspaces.schemas import (
    ListParams,
    MessageResponse,
    WorkspaceCreate,
    WorkspaceList,
    WorkspaceRead,
    WorkspaceUpdate,
)

router = APIRouter(
    prefix="/v1/orgs/{org_id}/workspaces",
    tags=["Workspaces"],
    responses=ERROR_RESPONSES,
    route_class=JSONBodyRoute,
)

# Printable ASCII; HTTP strips a header value's outer spaces, so none can be sent there.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"
IfMatch = Annotated[
    str | None, Header(description="ETag from a previous read; 412 if the workspace changed")
]
QUOTA: dict[int | str, dict[str, Any]] = {
    403: {
        "model": ErrorBody,
        "description": "The token lacks the permission or the org (`FORBIDDEN`), or the org "
        "has reached MAX_WORKSPACES_PER_ORG (`QUOTA_EXCEEDED`, details `{quota, limit, current}`)",
    }
}
PRECONDITION: dict[int | str, dict[str, Any]] = {
    412: {"model": ErrorBody, "description": "If-Match did not match"}
}


def _org_must_match(org_id: str, given: str | None, loc: list[str | int]) -> None:
    if given is not None and given != org_id:
        raise validation_error(
            loc, "organization_id must equal the org_id in the path", given, "value_error"
        )


def _check_region(region: str, allowed: tuple[str, ...]) -> None:
    # The allowed regions are settings, so the check is here (and the document lists them).
    if region not in allowed:
        raise validation_error(
            ["body", "region"], "Region must be one of the allowed regions", region, "value_error"
        )


_list_params, _LIST_PARAMS_DOC = query_model(ListParams)
ListQuery = Annotated[ListParams, Depends(_list_params)]


@router.get(
    "",
    response_model=WorkspaceList,
    summary="List Workspaces",
    openapi_extra=_LIST_PARAMS_DOC,
)
async def list_workspaces(caller: WorkspaceReader, params: ListQuery) -> Response:
    """List the org's workspaces, newest first, with keyset pagination."""
    org_id = caller.org_id
    _org_must_match(org_id, params.organization_id, ["query", "organization_id"])
    key = caller.services.cursor_key
    after = decode_cursor(key, org_id, params.cursor) if params.cursor else None
    filters = service.ListFilters(
        is_active=params.is_active, tag=params.tag, region=params.region, q=params.q
    )
    async with caller.services.db.reader() as conn:
        page = await service.list_workspaces(
            conn, org_id=org_id, limit=params.limit, after=after, filters=filters
        )
    position = page.last_position
    next_cursor = None if position is None else encode_cursor(key, org_id, position)
    return json_response(
        {
            "total": page.total,
            "has_more": page.has_more,
            "next_cursor": next_cursor,
            "workspaces": page.items,
        }
    )


@router.post(
    "",
    status_code=201,
    response_model=WorkspaceRead,
    summary="Create Workspace",
    responses={**TOO_LARGE, **QUOTA},
)
async def create_workspace(
    body: WorkspaceCreate,
    caller: WorkspaceCreator,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=255,
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description="1-255 printable ASCII characters; the same key and body within 24 h "
            "replays the first answer, the same key with another body is 422",
        ),
    ] = None,
) -> Response:
    """Create a workspace; its bucket is provisioned in the background (`pending`)."""
    org_id, settings = caller.org_id, caller.services.settings
    _org_must_match(org_id, body.organization_id, ["body", "organization_id"])
    region = body.region if body.region is not None else settings.default_region
    _check_region(region, settings.allowed_regions)
    values = body.model_dump(exclude={"organization_id", "region"})

    async def create(conn: Conn) -> idempotency.StoredResponse:
        row = await service.create_workspace(
            conn,
            org_id=org_id,
            owner_id=caller.user_id,
            values=values,
            region=region,
            bucket_prefix=settings.bucket_prefix,
            max_workspaces=settings.max_workspaces_per_org,
        )
        return idempotency.StoredResponse(201, dumps(service.to_api(row)))

    async with caller.services.db.transaction() as conn:
        stored, replayed = await idempotency.run_once(
            conn,
            org_id=org_id,
            user_id=caller.user_id,
            key=idempotency_key,
            digest=idempotency.request_hash(body.model_dump(mode="json", exclude_unset=True)),
            ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
            action=create,
        )
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(stored.body, stored.status_code, headers, media_type="application/json")


_IF_NONE_MATCH_DOC = {
    "parameters": [
        {
            "name": "if-none-match",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "ETag from a previous read; 304 if unchanged",
        }
    ]
}


@router.get(
    "/{workspace_id}",
    response_model=WorkspaceRead,
    summary="Get Workspace",
    openapi_extra=_IF_NONE_MATCH_DOC,
    responses={304: {"description": "Not modified (If-None-Match matched)"}},
)
async def get_workspace(
    workspace_id: WorkspaceId, caller: WorkspaceReader, request: Request
) -> Response:
    """One workspace, with its ETag."""
    async with caller.services.db.reader() as conn:
        row = await service.get_workspace(conn, org_id=caller.org_id, workspace_id=workspace_id)
    tag = service.etag(row)
    # Read from the request directly: a declared header parameter costs ~30 us per call.
    if_none_match = request.headers.get("if-none-match")
    # If-None-Match uses weak comparison, and `*` matches any current representation.
    if if_none_match is not None and (
        {tag, "*"} & {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    ):
        return Response(status_code=304, headers={"ETag": tag})
    return json_response(service.to_api(row), headers={"ETag": tag})


@router.put(
    "/{workspace_id}",
    response_model=WorkspaceRead,
    summary="Update Workspace",
    responses={**PRECONDITION, **TOO_LARGE},
)
async def update_workspace(
    workspace_id: WorkspaceId,
    caller: WorkspaceUpdater,
    body: Annotated[WorkspaceUpdate, Body()],
    if_match: IfMatch = None,
) -> Response:
    """Change the fields sent; `region` cannot change."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if "region" in changes:  # a valid region that is not the current one is 422 later
        _check_region(changes["region"], caller.services.settings.allowed_regions)
    async with caller.services.db.transaction() as conn:
        row = await service.update_workspace(
            conn,
            org_id=caller.org_id,
            workspace_id=workspace_id,
            actor_id=caller.user_id,
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
    workspace_id: WorkspaceId,
    caller: WorkspaceDeleter,
    if_match: IfMatch = None,
) -> Response:
    """Delete a workspace; its bucket is removed in the background."""
    async with caller.services.db.transaction() as conn:
        await service.delete_workspace(
            conn,
            org_id=caller.org_id,
            workspace_id=workspace_id,
            actor_id=caller.user_id,
            if_match=if_match,
        )
    return json_response({"message": f"Workspace {workspace_id} deleted"})
