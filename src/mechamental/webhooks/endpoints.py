"""What the delivery worker reads and writes of the endpoints themselves: the URL and
secrets to sign with, and the endpoint's health (a 2xx ends a failing run; 410 Gone, or
five days of nothing but failures, disables it with a reason). Statements built once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, bindparam, func, select, update

from mechamental.db import Conn
from mechamental.sealing import SecretBox
from mechamental.types import UTCDateTime
from mechamental.webhooks.deliveries import FAILING_DISABLES_AFTER
from mechamental.webhooks.models import webhooks

GONE_REASON = "the endpoint answered 410 Gone"
FAILING_REASON = "every attempt failed for 5 days"


@dataclass(frozen=True, slots=True)
class Target:
    """An endpoint as an attempt needs it: where, whether, and the secrets to sign with."""

    id: str
    url: str
    enabled: bool
    secrets: tuple[str, ...]  # the current one first; the previous while it still signs


_TARGETS = select(
    webhooks.c.id,
    webhooks.c.url,
    webhooks.c.enabled,
    webhooks.c.secret,
    webhooks.c.previous_secret,
    webhooks.c.previous_secret_until,
).where(webhooks.c.id.in_(bindparam("ids", expanding=True)))
_NOW = bindparam("now", type_=UTCDateTime())
_ID = webhooks.c.id == bindparam("webhook_id")
_RECOVERED = (
    update(webhooks).where(_ID, webhooks.c.failing_since.is_not(None)).values(failing_since=None)
)
_FAILED = (
    update(webhooks)
    .where(_ID)
    .values(failing_since=func.coalesce(webhooks.c.failing_since, _NOW))
    .returning(webhooks.c.failing_since, webhooks.c.enabled)
)
_DISABLE = (
    update(webhooks)
    .where(_ID, webhooks.c.enabled.is_(True))
    .values(enabled=False, disabled_reason=bindparam("reason", type_=String()), updated_at=_NOW)
)


async def targets(
    conn: Conn, *, ids: Sequence[str], box: SecretBox, now: datetime
) -> dict[str, Target]:
    """The endpoints `ids` that still exist, with their secrets opened."""
    out: dict[str, Target] = {}
    for row in (await conn.execute(_TARGETS, {"ids": list(ids)})).all():
        secrets = [box.open(row.secret, webhook_id=row.id)]
        if row.previous_secret and row.previous_secret_until and row.previous_secret_until > now:
            secrets.append(box.open(row.previous_secret, webhook_id=row.id))
        out[row.id] = Target(row.id, row.url, bool(row.enabled), tuple(secrets))
    return out


async def note_success(conn: Conn, *, webhook_id: str) -> None:
    """A 2xx: the endpoint is not failing (a no-op UPDATE unless it was)."""
    await conn.execute(_RECOVERED, {"webhook_id": webhook_id})


async def note_failure(conn: Conn, *, webhook_id: str, now: datetime, gone: bool) -> str | None:
    """A failed attempt; the reason if it disabled the endpoint."""
    reason = GONE_REASON if gone else None
    if reason is None:
        row = (await conn.execute(_FAILED, {"webhook_id": webhook_id, "now": now})).first()
        if row is not None and row.enabled and now - row.failing_since >= FAILING_DISABLES_AFTER:
            reason = FAILING_REASON
    if reason is not None:
        await conn.execute(_DISABLE, {"webhook_id": webhook_id, "now": now, "reason": reason})
    return reason
