"""Webhook operations for the HTTP API. Callers own the transaction; these never commit.

Every query is confined to the org of the path: another org's endpoint is 404. The
signing secret leaves only in the create's and the rotation's responses; it is stored
sealed (`mechamental.sealing.SecretBox`). `check_url` resolves the host, so callers run it before
opening a transaction (SQLite holds its write lock meanwhile otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select, update

from mechamental.db import Conn
from mechamental.errors import Conflict, ResourceNotFound, validation_error
from mechamental.ids import new_id
from mechamental.sealing import SecretBox
from mechamental.types import api_timestamp
from mechamental.webhooks import addresses, deliveries
from mechamental.webhooks.models import webhook_attempts, webhook_deliveries, webhooks
from mechamental.webhooks.signing import new_secret
from mechamental.workspaces.cursor import Position

RESOURCE = "webhook"
DELIVERY = "webhook_delivery"
PREVIOUS_SECRET_SIGNS = timedelta(hours=24)
_FIELDS = ("id", "url", "event_types", "description", "enabled", "disabled_reason")


async def check_url(url: str, *, allow_private: bool) -> None:
    """422 unless `url` is an endpoint we may call (scheme, host, public addresses)."""
    problem = addresses.url_problem(url, allow_private=allow_private)
    if problem is None and not allow_private:
        host, port = addresses.host_and_port(url)
        try:
            await addresses.checked_addresses(host, port)
        except addresses.RefusedAddress as exc:
            problem = str(exc)
    if problem is not None:
        raise validation_error(["body", "url"], f"url {problem}", url, "value_error")


def to_api(row: Mapping[Any, Any]) -> dict[str, Any]:
    """An endpoint's row as the API shows it."""
    out = {name: row[name] for name in _FIELDS}
    out["created_at"] = api_timestamp(row["created_at"])
    out["updated_at"] = api_timestamp(row["updated_at"])
    return out


async def create_webhook(
    conn: Conn,
    *,
    org_id: str,
    url: str,
    event_types: list[str],
    description: str,
    enabled: bool,
    box: SecretBox,
    now: datetime,
) -> dict[str, Any]:
    """Make an endpoint; the result carries its secret (shown only here)."""
    webhook_id = new_id()
    secret = new_secret()
    row = {
        "id": webhook_id,
        "org_id": org_id,
        "url": url,
        "event_types": event_types,
        "description": description,
        "enabled": enabled,
        "disabled_reason": None,
        "secret": box.seal(secret, webhook_id=webhook_id),
        "previous_secret": None,
        "previous_secret_until": None,
        "failing_since": None,
        "created_at": now,
        "updated_at": now,
    }
    await conn.execute(insert(webhooks).values(**row))
    return {**to_api(row), "secret": secret}


def _one(org_id: str, webhook_id: str) -> Any:
    return and_(webhooks.c.org_id == org_id, webhooks.c.id == webhook_id)


async def get_webhook(conn: Conn, *, org_id: str, webhook_id: str) -> dict[str, Any]:
    """One endpoint of the org, or 404."""
    row = (await conn.execute(select(webhooks).where(_one(org_id, webhook_id)))).mappings().first()
    if row is None:
        raise ResourceNotFound(RESOURCE, webhook_id)
    return to_api(row)


async def list_webhooks(
    conn: Conn, *, org_id: str, limit: int, after: Position | None
) -> tuple[list[dict[str, Any]], Position | None]:
    """A page of the org's endpoints, newest first, and where the next starts (if any)."""
    query = select(webhooks).where(webhooks.c.org_id == org_id)
    if after is not None:
        query = query.where(_before(webhooks.c.created_at, webhooks.c.id, after))
    query = query.order_by(webhooks.c.created_at.desc(), webhooks.c.id.desc()).limit(limit + 1)
    rows = list((await conn.execute(query)).mappings().all())
    return [to_api(r) for r in rows[:limit]], _next(rows, limit)


def _before(created: Any, id_: Any, after: Position) -> Any:
    return or_(
        created < after.created_at, and_(created == after.created_at, id_ < after.workspace_id)
    )


def _next(rows: list[Any], limit: int) -> Position | None:
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return Position(last["created_at"], last["id"])


async def replace_webhook(
    conn: Conn,
    *,
    org_id: str,
    webhook_id: str,
    url: str,
    event_types: list[str],
    description: str,
    enabled: bool,
    now: datetime,
) -> dict[str, Any]:
    """Replace an endpoint's settings; enabling it clears a disabled reason and its failures."""
    values: dict[str, Any] = {
        "url": url,
        "event_types": event_types,
        "description": description,
        "enabled": enabled,
        "updated_at": now,
    }
    if enabled:
        values.update(disabled_reason=None, failing_since=None)
    result = await conn.execute(
        update(webhooks).where(_one(org_id, webhook_id)).values(**values).returning(*webhooks.c)
    )
    row = result.mappings().first()
    if row is None:
        raise ResourceNotFound(RESOURCE, webhook_id)
    return to_api(row)


async def delete_webhook(conn: Conn, *, org_id: str, webhook_id: str) -> None:
    """Delete an endpoint; its deliveries, never claimed again (a claim joins the endpoint),
    go with the retention purge (`deliveries.purge_orphaned`).

    Deleting them here deadlocked on PostgreSQL (a 500, seen by the webhooks bench): this
    transaction held the endpoint's row and waited for its deliveries, while the worker's
    outcome batch held a delivery and waited for the endpoint's row (`note_success`).
    Touching only the endpoint's row, it can wait for the worker but never the reverse.
    """
    result = await conn.execute(delete(webhooks).where(_one(org_id, webhook_id)))
    if not result.rowcount:
        raise ResourceNotFound(RESOURCE, webhook_id)


async def rotate_secret(
    conn: Conn, *, org_id: str, webhook_id: str, box: SecretBox, now: datetime
) -> dict[str, Any]:
    """A new secret; the current one keeps signing beside it for 24 h."""
    current = (
        await conn.execute(
            select(webhooks.c.secret).where(_one(org_id, webhook_id)).with_for_update()
        )
    ).scalar()
    if current is None:
        raise ResourceNotFound(RESOURCE, webhook_id)
    secret = new_secret()
    until = now + PREVIOUS_SECRET_SIGNS
    await conn.execute(
        update(webhooks)
        .where(_one(org_id, webhook_id))
        .values(
            secret=box.seal(secret, webhook_id=webhook_id),
            previous_secret=current,
            previous_secret_until=until,
            updated_at=now,
        )
    )
    return {"secret": secret, "previous_valid_until": api_timestamp(until)}


async def send_test(
    conn: Conn, *, org_id: str, webhook_id: str, actor_id: str, now: datetime
) -> dict[str, Any]:
    """Queue a `webhook.test` delivery to the endpoint (enabled or not)."""
    await get_webhook(conn, org_id=org_id, webhook_id=webhook_id)
    message = f"msg_test_{new_id().replace('-', '')}"
    payload = deliveries.test_payload(
        org_id=org_id, webhook_id=webhook_id, actor_id=actor_id, message=message, now=now
    )
    row = deliveries.delivery_row(
        org_id=org_id,
        webhook_id=webhook_id,
        message=message,
        type_=deliveries.TEST_EVENT,
        eid=None,
        payload=payload,
        now=now,
    )
    await conn.execute(insert(webhook_deliveries).values(**row))
    conn.notify(deliveries.DELIVERY_QUEUED, None)
    return _delivery_api(row, [])


_ATTEMPT_FIELDS = ("attempted_at", "status_code", "duration_ms", "error")


def _delivery_api(row: Mapping[Any, Any], attempts: list[Mapping[Any, Any]]) -> dict[str, Any]:
    due = row["next_attempt_at"] if row["status"] in deliveries.UNFINISHED else None
    return {
        "id": row["id"],
        "webhook_id": row["webhook_id"],
        "message_id": row["message_id"],
        "event_id": row["event_id"],
        "event_type": row["event_type"],
        "status": row["status"],
        "attempts": [
            {**{k: a[k] for k in _ATTEMPT_FIELDS}, "attempted_at": api_timestamp(a["attempted_at"])}
            for a in attempts
        ],
        "next_attempt_at": api_timestamp(due) if due is not None else None,
        "last_error": row["last_error"],
        "created_at": api_timestamp(row["created_at"]),
    }


_DELIVERY_COLUMNS = [c for c in webhook_deliveries.c if c.name != "payload"]


async def list_deliveries(
    conn: Conn, *, org_id: str, webhook_id: str, limit: int, after: Position | None
) -> tuple[list[dict[str, Any]], Position | None]:
    """A page of an endpoint's deliveries with their attempts, newest first."""
    await get_webhook(conn, org_id=org_id, webhook_id=webhook_id)
    d = webhook_deliveries.c
    query = select(*_DELIVERY_COLUMNS).where(d.org_id == org_id, d.webhook_id == webhook_id)
    if after is not None:
        query = query.where(_before(d.created_at, d.id, after))
    query = query.order_by(d.created_at.desc(), d.id.desc()).limit(limit + 1)
    rows = list((await conn.execute(query)).mappings().all())
    page = rows[:limit]
    by_delivery: dict[str, list[Mapping[Any, Any]]] = {r["id"]: [] for r in page}
    if page:
        attempts = await conn.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id.in_(list(by_delivery)))
            .order_by(webhook_attempts.c.id)
        )
        for a in attempts.mappings().all():
            by_delivery[a["delivery_id"]].append(a)
    return [_delivery_api(r, by_delivery[r["id"]]) for r in page], _next(rows, limit)


async def retry_delivery(
    conn: Conn, *, org_id: str, webhook_id: str, delivery_id: str, now: datetime
) -> dict[str, Any]:
    """Make a delivery due now with a fresh retry schedule (409 while an attempt runs)."""
    d = webhook_deliveries.c
    endpoint = select(webhooks.c.id).where(_one(org_id, webhook_id)).exists()
    # A deleted endpoint's deliveries wait for the purge: they are gone for the API.
    mine = and_(d.org_id == org_id, d.webhook_id == webhook_id, d.id == delivery_id, endpoint)
    row = (
        (await conn.execute(select(*_DELIVERY_COLUMNS).where(mine).with_for_update()))
        .mappings()
        .first()
    )
    if row is None:
        raise ResourceNotFound(DELIVERY, delivery_id)
    if row["status"] == deliveries.DELIVERING:
        raise Conflict("An attempt of this delivery is running", delivery_id=delivery_id)
    values = {
        "status": deliveries.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "updated_at": now,
    }
    await conn.execute(update(webhook_deliveries).where(mine).values(**values))
    conn.notify(deliveries.DELIVERY_QUEUED, None)
    attempts = await conn.execute(
        select(webhook_attempts)
        .where(webhook_attempts.c.delivery_id == delivery_id)
        .order_by(webhook_attempts.c.id)
    )
    return _delivery_api({**row, **values}, list(attempts.mappings().all()))
