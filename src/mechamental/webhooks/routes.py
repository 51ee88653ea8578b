"""HTTP endpoints for webhooks: parse, authorize, call the service, encode.

Everything needs `webhook:manage` (owners and admins) in the org of the path.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.responses import Response

from mechamental.dependencies import WebhookManager
from mechamental.errors import ERROR_RESPONSES, TOO_LARGE, ErrorBody
from mechamental.params import JSONBodyRoute, query_model
from mechamental.responses import json_response
from mechamental.webhooks import service
from mechamental.webhooks.schemas import (
    DeliveryId,
    DeliveryList,
    DeliveryRead,
    ListParams,
    SecretRotated,
    WebhookCreated,
    WebhookId,
    WebhookList,
    WebhookRead,
    WebhookWrite,
)
from mechamental.workspaces.cursor import Position, decode_cursor, encode_cursor, list_key

router = APIRouter(
    prefix="/v1/orgs/{org_id}/webhooks",
    tags=["Webhooks"],
    responses=ERROR_RESPONSES,
    route_class=JSONBodyRoute,
)
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "An attempt of the delivery is running"}
}
_list_params, _LIST_PARAMS_DOC = query_model(ListParams)
ListQuery = Annotated[ListParams, Depends(_list_params)]


def _cursor(key: bytes, org_id: str, position: Position | None) -> str | None:
    return None if position is None else encode_cursor(key, org_id, position)


@router.get("", response_model=WebhookList, summary="List Webhooks", openapi_extra=_LIST_PARAMS_DOC)
async def list_webhooks(caller: WebhookManager, params: ListQuery) -> Response:
    """The org's endpoints, newest first, with keyset pagination."""
    key = list_key(caller.services.cursor_key, b"mechamental.webhooks.cursor")
    after = decode_cursor(key, caller.org_id, params.cursor) if params.cursor else None
    async with caller.services.db.reader() as conn:
        items, position = await service.list_webhooks(
            conn, org_id=caller.org_id, limit=params.limit, after=after
        )
    return json_response(
        {
            "has_more": position is not None,
            "next_cursor": _cursor(key, caller.org_id, position),
            "webhooks": items,
        }
    )


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Create Webhook",
    responses=TOO_LARGE,
)
async def create_webhook(body: WebhookWrite, caller: WebhookManager) -> Response:
    """Add an endpoint; its signing `secret` is in this response only."""
    settings = caller.services.settings
    await service.check_url(body.url, allow_private=settings.webhook_allow_private)
    async with caller.services.db.transaction() as conn:
        created = await service.create_webhook(
            conn,
            org_id=caller.org_id,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            enabled=body.enabled,
            box=caller.services.webhook_secrets,
            now=caller.services.clock.utcnow(),
        )
    return json_response(created, status_code=201)


@router.get("/{webhook_id}", response_model=WebhookRead, summary="Get Webhook")
async def get_webhook(webhook_id: WebhookId, caller: WebhookManager) -> Response:
    """One endpoint of the org (without its secret)."""
    async with caller.services.db.reader() as conn:
        row = await service.get_webhook(conn, org_id=caller.org_id, webhook_id=webhook_id)
    return json_response(row)


@router.put(
    "/{webhook_id}", response_model=WebhookRead, summary="Replace Webhook", responses=TOO_LARGE
)
async def replace_webhook(
    webhook_id: WebhookId, body: WebhookWrite, caller: WebhookManager
) -> Response:
    """Replace an endpoint's settings (omitted fields take their defaults)."""
    settings = caller.services.settings
    await service.check_url(body.url, allow_private=settings.webhook_allow_private)
    async with caller.services.db.transaction() as conn:
        row = await service.replace_webhook(
            conn,
            org_id=caller.org_id,
            webhook_id=webhook_id,
            url=body.url,
            event_types=body.event_types,
            description=body.description,
            enabled=body.enabled,
            now=caller.services.clock.utcnow(),
        )
    return json_response(row)


@router.delete(
    "/{webhook_id}",
    status_code=204,
    response_class=Response,
    summary="Delete Webhook",
    responses={204: {"description": "Deleted, with its deliveries"}},
)
async def delete_webhook(webhook_id: WebhookId, caller: WebhookManager) -> Response:
    """Delete an endpoint; nothing more is sent to it."""
    async with caller.services.db.transaction() as conn:
        await service.delete_webhook(conn, org_id=caller.org_id, webhook_id=webhook_id)
    return Response(status_code=204)


@router.post("/{webhook_id}/rotate-secret", response_model=SecretRotated, summary="Rotate Secret")
async def rotate_secret(webhook_id: WebhookId, caller: WebhookManager) -> Response:
    """A new signing secret; the old one signs alongside it for 24 hours."""
    async with caller.services.db.transaction() as conn:
        rotated = await service.rotate_secret(
            conn,
            org_id=caller.org_id,
            webhook_id=webhook_id,
            box=caller.services.webhook_secrets,
            now=caller.services.clock.utcnow(),
        )
    return json_response(rotated)


@router.post(
    "/{webhook_id}/test", status_code=202, response_model=DeliveryRead, summary="Send Test Event"
)
async def send_test(webhook_id: WebhookId, caller: WebhookManager) -> Response:
    """Queue a `webhook.test` event to the endpoint; follow it in the deliveries list."""
    async with caller.services.db.transaction() as conn:
        delivery = await service.send_test(
            conn,
            org_id=caller.org_id,
            webhook_id=webhook_id,
            actor_id=caller.user_id,
            now=caller.services.clock.utcnow(),
        )
    return json_response(delivery, status_code=202)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryList,
    summary="List Deliveries",
    openapi_extra=_LIST_PARAMS_DOC,
)
async def list_deliveries(
    webhook_id: WebhookId, caller: WebhookManager, params: ListQuery
) -> Response:
    """The endpoint's deliveries with their attempts, newest first, with keyset pagination."""
    key = list_key(caller.services.cursor_key, b"mechamental.webhooks.deliveries.cursor")
    after = decode_cursor(key, caller.org_id, params.cursor) if params.cursor else None
    async with caller.services.db.reader() as conn:
        items, position = await service.list_deliveries(
            conn, org_id=caller.org_id, webhook_id=webhook_id, limit=params.limit, after=after
        )
    return json_response(
        {
            "has_more": position is not None,
            "next_cursor": _cursor(key, caller.org_id, position),
            "deliveries": items,
        }
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=DeliveryRead,
    summary="Retry Delivery",
    responses=CONFLICT,
)
async def retry_delivery(
    webhook_id: WebhookId, delivery_id: DeliveryId, caller: WebhookManager
) -> Response:
    """Deliver again now, with a fresh retry schedule."""
    async with caller.services.db.transaction() as conn:
        delivery = await service.retry_delivery(
            conn,
            org_id=caller.org_id,
            webhook_id=webhook_id,
            delivery_id=delivery_id,
            now=caller.services.clock.utcnow(),
        )
    return json_response(delivery, status_code=202)
