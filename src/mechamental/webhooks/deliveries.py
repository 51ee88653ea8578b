"""Deliveries: made from the committed event log, then claimed and finished under leases.

Dispatch: every event row is written with `webhook_pending = true` in its own transaction
(`sync.events.outbox`); `dispatch` takes a batch of those rows (`FOR UPDATE SKIP LOCKED`
on PostgreSQL, so processes share the work; SQLite serialises writers), inserts a delivery
for each enabled endpoint of the org whose filter matches, and clears the flag, all in one
transaction: an event is matched exactly once, and a committed one is never skipped.

Attempts follow the bucket jobs' row leases (`buckets.leases`): a delivery is due when
`pending` and its time has come, or `delivering` with its lease expired (the holder
died); a claim is one UPDATE that repeats those conditions and stamps a token; every later
write is conditional on the token. The claim takes at most `per_endpoint` rows of one
endpoint and none of the endpoints this process already has at capacity, so one endpoint's
backlog never fills the pool. Statements are built once (AGENTS.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import (
    Integer,
    Select,
    String,
    Update,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)

from mechamental.db import DIALECTS, Conn, Topic, join_picked
from mechamental.ids import new_id
from mechamental.sync.events.frames import Event, event_body, event_id
from mechamental.sync.events.models import events
from mechamental.types import UTCDateTime
from mechamental.webhooks.models import webhook_attempts, webhook_deliveries, webhooks

PENDING = "pending"
DELIVERING = "delivering"
SUCCEEDED = "succeeded"
FAILED = "failed"
UNFINISHED = (PENDING, DELIVERING)
TEST_EVENT = "webhook.test"

# After the n-th failed attempt the next comes this much later; after the last, `failed`.
RETRY_DELAYS = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
FAILING_DISABLES_AFTER = timedelta(days=5)

# Told after commit that this process queued deliveries (a test, a retry): the worker wakes.
DELIVERY_QUEUED: Topic[None] = Topic("webhook delivery queued")


def matches(patterns: Iterable[str], type_: str) -> bool:
    """Whether an endpoint filter (`*`, exact names, `prefix.*`) takes an event type."""
    for pattern in patterns:
        if pattern == "*" or pattern == type_:
            return True
        if pattern.endswith(".*") and type_.startswith(pattern[:-1]):
            return True
    return False


def message_id(workspace_id: str, seq: int) -> str:
    """The `webhook-id` of an event: unique across workspaces (the body's `id` is unique
    within its workspace), the same on every attempt."""
    return f"evt_{workspace_id.replace('-', '')}_{seq}"


_PENDING_EVENTS = (
    select(
        events.c.id,
        events.c.org_id,
        events.c.workspace_id,
        events.c.seq,
        events.c.type,
        events.c.actor_id,
        events.c.occurred_at,
        events.c.data,
    )
    .where(events.c.webhook_pending.is_(True))
    .order_by(events.c.id)
    .limit(bindparam("limit", type_=Integer()))
    .with_for_update(skip_locked=True)
)
_ANY_PENDING = select(events.c.id).where(events.c.webhook_pending.is_(True)).limit(1)
_ENDPOINTS = select(webhooks.c.id, webhooks.c.org_id, webhooks.c.event_types).where(
    webhooks.c.enabled.is_(True), webhooks.c.org_id.in_(bindparam("orgs", expanding=True))
)
_INSERT = insert(webhook_deliveries)
_MATCHED = (
    update(events)
    .where(events.c.id.in_(bindparam("ids", expanding=True)))
    .values(webhook_pending=False)
)


async def any_pending(conn: Conn) -> bool:
    """Whether some event waits to be matched (a cheap read before a write transaction)."""
    return (await conn.execute(_ANY_PENDING)).first() is not None


def delivery_row(
    *,
    org_id: str,
    webhook_id: str,
    message: str,
    type_: str,
    eid: str | None,
    payload: bytes,
    now: datetime,
) -> dict[str, Any]:
    """A new pending delivery, due at once."""
    return {
        "id": new_id(),
        "org_id": org_id,
        "webhook_id": webhook_id,
        "message_id": message,
        "event_type": type_,
        "event_id": eid,
        "payload": payload.decode(),
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "lease_owner": None,
        "last_error": None,
        "created_at": now,
        "updated_at": now,
    }


async def dispatch(conn: Conn, *, now: datetime, limit: int) -> tuple[int, int]:
    """Match a batch of pending events with endpoints; (events matched, deliveries made)."""
    rows = (await conn.execute(_PENDING_EVENTS, {"limit": limit})).all()
    if not rows:
        return 0, 0
    orgs = sorted({row.org_id for row in rows})
    by_org: dict[str, list[Any]] = {}
    for endpoint in (await conn.execute(_ENDPOINTS, {"orgs": orgs})).all():
        by_org.setdefault(endpoint.org_id, []).append(endpoint)
    made: list[dict[str, Any]] = []
    for row in rows:
        targets = [e for e in by_org.get(row.org_id, ()) if matches(e.event_types, row.type)]
        if not targets:
            continue
        event = Event(
            row.org_id, row.workspace_id, row.seq, row.type, row.actor_id, row.occurred_at, row.data
        )
        payload = event_body(event)
        message = message_id(row.workspace_id, row.seq)
        eid = event_id(row.workspace_id, row.seq)
        made.extend(
            delivery_row(
                org_id=row.org_id,
                webhook_id=e.id,
                message=message,
                type_=row.type,
                eid=eid,
                payload=payload,
                now=now,
            )
            for e in targets
        )
    if made:
        await conn.execute(_INSERT, made)
    await conn.execute(_MATCHED, {"ids": [row.id for row in rows]})
    return len(rows), len(made)


def test_payload(
    *, org_id: str, webhook_id: str, actor_id: str, message: str, now: datetime
) -> bytes:
    """The body of a `webhook.test` event (no workspace: it is not in any log)."""
    return orjson.dumps(
        {
            "id": message,
            "type": TEST_EVENT,
            "org_id": org_id,
            "workspace_id": None,
            "actor_id": actor_id,
            "occurred_at": now,
            "data": {"webhook_id": webhook_id},
        },
        option=orjson.OPT_UTC_Z,
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery we hold, and the lease token that proves it."""

    id: str
    org_id: str
    webhook_id: str
    message_id: str
    event_type: str
    payload: bytes
    attempts: int
    token: str


_NOW = bindparam("now", type_=UTCDateTime())
_EXPIRES = bindparam("expires", type_=UTCDateTime())
_DUE = (
    webhook_deliveries.c.status.in_(UNFINISHED),
    webhook_deliveries.c.next_attempt_at <= _NOW,
)
# Each endpoint's oldest due deliveries, at most `per_endpoint` (an index range on
# (webhook_id, next_attempt_at): pending and delivering rows have a time, finished ones
# none), then ranked among those few. Ranking every due row instead cost O(backlog) per
# claim: with 3,000 due it was 47% of the worker's CPU (py-spy), O(n^2) to drain them.
_of_endpoint = webhook_deliveries.alias("of_endpoint")
_endpoint_due = (
    select(_of_endpoint.c.id)
    .where(
        _of_endpoint.c.webhook_id == webhooks.c.id,
        _of_endpoint.c.status.in_(UNFINISHED),
        _of_endpoint.c.next_attempt_at <= _NOW,
    )
    .order_by(_of_endpoint.c.next_attempt_at, _of_endpoint.c.id)
    .limit(bindparam("per_endpoint", type_=Integer()))
    .correlate(webhooks)
)


def _claim_statement(dialect: str) -> Update:
    """The claim, as `dialect` plans it well (`db.join_picked`)."""
    ranked = (
        select(
            webhook_deliveries.c.id,
            webhook_deliveries.c.next_attempt_at,
            func.row_number()
            .over(
                partition_by=webhook_deliveries.c.webhook_id,
                order_by=(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.id),
            )
            .label("rank"),
        )
        .select_from(join_picked(dialect, webhooks, webhook_deliveries, _endpoint_due))
        .where(webhooks.c.id.not_in(bindparam("busy", expanding=True)))
        .subquery()
    )
    return (
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.id.in_(
                select(ranked.c.id)
                .where(ranked.c.rank <= bindparam("per_endpoint", type_=Integer()))
                # Each endpoint's oldest first, then each one's second...: an endpoint with a
                # backlog (a dead one, thousands due) takes one turn per claim, not all of it.
                .order_by(ranked.c.rank, ranked.c.next_attempt_at)
                .limit(bindparam("limit", type_=Integer()))
                .scalar_subquery()
            ),
            # Repeated: on PostgreSQL a rival's claim that committed first is seen here.
            *_DUE,
            # Never our own again: an answered attempt waits for its outcome's batch, and a
            # clock moved past its lease meanwhile (tests) made it due a second time.
            webhook_deliveries.c.id.not_in(bindparam("held", expanding=True)),
        )
        .values(
            status=DELIVERING,
            lease_owner=bindparam("token", type_=String()),
            next_attempt_at=_EXPIRES,
            attempts=webhook_deliveries.c.attempts + 1,
            updated_at=_NOW,
        )
        .returning(
            webhook_deliveries.c.id,
            webhook_deliveries.c.org_id,
            webhook_deliveries.c.webhook_id,
            webhook_deliveries.c.message_id,
            webhook_deliveries.c.event_type,
            webhook_deliveries.c.payload,
            webhook_deliveries.c.attempts,
        )
    )


_CLAIM = {dialect: _claim_statement(dialect) for dialect in DIALECTS}
_OURS = (
    webhook_deliveries.c.id == bindparam("delivery_id"),
    webhook_deliveries.c.lease_owner == bindparam("token"),
    webhook_deliveries.c.status == DELIVERING,
)
_END = (
    update(webhook_deliveries)
    .where(*_OURS)
    .values(
        status=bindparam("new_status", type_=String()),
        lease_owner=None,
        next_attempt_at=bindparam("due", type_=UTCDateTime()),
        last_error=bindparam("error", type_=String()),
        updated_at=_NOW,
    )
    .returning(webhook_deliveries.c.id)
)
_RELEASE = (
    update(webhook_deliveries)
    .where(*_OURS)
    .values(
        status=PENDING,
        lease_owner=None,
        next_attempt_at=_NOW,
        attempts=webhook_deliveries.c.attempts - 1,
        updated_at=_NOW,
    )
)
_ATTEMPT = insert(webhook_attempts)
_ANY_DUE = select(webhook_deliveries.c.id).where(*_DUE).limit(1)


async def any_due(conn: Conn, *, now: datetime) -> bool:
    """Whether some delivery is due."""
    return (await conn.execute(_ANY_DUE, {"now": now})).first() is not None


async def claim(
    conn: Conn,
    *,
    token: str,
    now: datetime,
    lease_seconds: float,
    limit: int,
    per_endpoint: int,
    busy: Sequence[str],
    held: Sequence[str] = (),
) -> list[Claimed]:
    """Lease up to `limit` due deliveries (at most `per_endpoint` of one endpoint, none of
    `busy`'s, none of `held`) to `token`; each claim counts as an attempt."""
    params = {
        "now": now,
        "expires": now + timedelta(seconds=lease_seconds),
        "token": token,
        "limit": limit,
        "per_endpoint": per_endpoint,
        "busy": list(busy),
        "held": list(held),
    }
    rows = (await conn.execute(_CLAIM[conn.dialect], params)).all()
    return [
        Claimed(
            r.id,
            r.org_id,
            r.webhook_id,
            r.message_id,
            r.event_type,
            r.payload.encode(),
            r.attempts,
            token,
        )
        for r in rows
    ]


async def finish(
    conn: Conn,
    *,
    delivery: Claimed,
    status: str,
    due: datetime | None,
    error: str | None,
    now: datetime,
) -> bool:
    """End our lease with `status` (pending again at `due`, or final); False if it was lost."""
    params = {
        "delivery_id": delivery.id,
        "token": delivery.token,
        "new_status": status,
        "due": due,
        "error": error,
        "now": now,
    }
    return (await conn.execute(_END, params)).first() is not None


async def record_attempt(
    conn: Conn,
    *,
    delivery_id: str,
    at: datetime,
    status_code: int | None,
    duration_ms: int,
    error: str | None,
) -> None:
    """Note one attempt (shown by the deliveries list)."""
    await conn.execute(
        _ATTEMPT,
        {
            "delivery_id": delivery_id,
            "attempted_at": at,
            "status_code": status_code,
            "duration_ms": duration_ms,
            "error": error,
        },
    )


async def release(conn: Conn, *, claimed: Sequence[Claimed], now: datetime) -> None:
    """Give back deliveries not attempted (shutdown): due at once, the attempt not counted."""
    if claimed:
        await conn.execute(
            _RELEASE, [{"delivery_id": d.id, "token": d.token, "now": now} for d in claimed]
        )


# Finished deliveries (and their attempts) are kept for FINISHED_RETENTION_SECONDS, then go.
_FINISHED = (
    select(webhook_deliveries.c.id)
    .where(
        webhook_deliveries.c.status.in_((SUCCEEDED, FAILED)),
        webhook_deliveries.c.updated_at < bindparam("cutoff", type_=UTCDateTime()),
    )
    .limit(bindparam("batch", type_=Integer()))
)
_PURGE_ATTEMPTS = delete(webhook_attempts).where(
    webhook_attempts.c.delivery_id.in_(bindparam("ids", expanding=True))
)
_PURGE = delete(webhook_deliveries).where(
    webhook_deliveries.c.id.in_(bindparam("ids", expanding=True))
)


# Deliveries of deleted endpoints, except one still held under a live lease (its outcome
# is being written: deleting it under the worker could deadlock, as deleting an endpoint's
# deliveries in its own transaction did).
_ORPHANED = (
    select(webhook_deliveries.c.id)
    .where(
        ~select(webhooks.c.id).where(webhooks.c.id == webhook_deliveries.c.webhook_id).exists(),
        (webhook_deliveries.c.status != DELIVERING)
        | (webhook_deliveries.c.next_attempt_at <= _NOW),
    )
    .limit(bindparam("batch", type_=Integer()))
)


async def _purge(conn: Conn, chosen: Select[Any], params: dict[str, Any]) -> int:
    """Delete the deliveries `chosen` selects (ids), with their attempts; how many."""
    ids = list((await conn.execute(chosen, params)).scalars())
    if ids:
        await conn.execute(_PURGE_ATTEMPTS, {"ids": ids})
        await conn.execute(_PURGE, {"ids": ids})
    return len(ids)


async def purge_orphaned(conn: Conn, *, now: datetime, batch: int) -> int:
    """Delete up to `batch` deliveries of deleted endpoints, with their attempts."""
    return await _purge(conn, _ORPHANED, {"now": now, "batch": batch})


async def purge_finished(conn: Conn, *, before: datetime, batch: int) -> int:
    """Delete up to `batch` deliveries that finished before `before`, with their attempts."""
    return await _purge(conn, _FINISHED, {"cutoff": before, "batch": batch})
