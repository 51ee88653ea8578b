"""Idempotent creates: the same `Idempotency-Key` from the same user replays the first answer."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import bindparam, delete, select, tuple_, update

from mechamental.db import Conn, insert_if_absent
from mechamental.errors import validation_error
from mechamental.types import utcnow
from mechamental.workspaces.models import idempotency_keys

KEY_LOC: list[str | int] = ["header", "idempotency-key"]
log = logging.getLogger("mechamental.idempotency")


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response first given for a key."""

    status_code: int
    body: bytes


def request_hash(payload: dict[str, Any]) -> str:
    """A stable hash of a request body's meaning (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def check_key(key: str) -> None:
    """Reject keys that are empty, too long or not printable ASCII (422)."""
    if not (1 <= len(key) <= 255) or not key.isascii() or not key.isprintable():
        raise validation_error(
            KEY_LOC, "Idempotency-Key must be 1-255 printable ASCII characters", key, "value_error"
        )


def _where(org_id: str, user_id: str, key: str) -> Any:
    return (
        (idempotency_keys.c.org_id == org_id)
        & (idempotency_keys.c.user_id == user_id)
        & (idempotency_keys.c.key == key)
    )


async def lookup(
    conn: Conn, *, org_id: str, user_id: str, key: str, digest: str, ttl: timedelta
) -> StoredResponse | None:
    """The stored response for this key, None if unused or expired; 422 if the body differs."""
    row = (await conn.execute(select(idempotency_keys).where(_where(org_id, user_id, key)))).first()
    if row is None or row.created_at <= utcnow() - ttl:
        return None
    if row.request_hash != digest:
        raise validation_error(
            KEY_LOC,
            "This Idempotency-Key was already used with a different request body",
            key,
            "idempotency_key_reused",
        )
    return StoredResponse(row.status_code, row.response_body.encode())


async def _claim(conn: Conn, *, org_id: str, user_id: str, key: str, digest: str) -> bool:
    """Take the key for this transaction; False if another request holds it already.

    On PostgreSQL a racing insert of the same key waits for the other transaction: once it
    commits this one sees its row (and replays it); once it rolls back this one claims.
    """
    result = await conn.execute(
        insert_if_absent(conn, idempotency_keys).values(
            org_id=org_id,
            user_id=user_id,
            key=key,
            request_hash=digest,
            status_code=0,  # filled in by _remember before the transaction commits
            response_body="",
            created_at=utcnow(),
        )
    )
    return bool(result.rowcount)


async def _remember(
    conn: Conn, *, org_id: str, user_id: str, key: str, response: StoredResponse
) -> None:
    await conn.execute(
        update(idempotency_keys)
        .where(_where(org_id, user_id, key))
        .values(status_code=response.status_code, response_body=response.body.decode())
    )


async def run_once(
    conn: Conn,
    *,
    org_id: str,
    user_id: str,
    key: str | None,
    digest: str,
    ttl: timedelta,
    action: Callable[[Conn], Awaitable[StoredResponse]],
) -> tuple[StoredResponse, bool]:
    """Run `action` on `conn` at most once per key; returns (response, replayed)."""
    if key is None:
        return await action(conn), False
    check_key(key)
    scope = {"org_id": org_id, "user_id": user_id, "key": key}
    stored = await lookup(conn, **scope, digest=digest, ttl=ttl)
    if stored is not None:
        return stored, True
    # An expired entry makes way; a live one (just committed by a racing request) is replayed.
    await conn.execute(
        delete(idempotency_keys).where(
            _where(org_id, user_id, key), idempotency_keys.c.created_at <= utcnow() - ttl
        )
    )
    if not await _claim(conn, **scope, digest=digest):
        stored = await lookup(conn, **scope, digest=digest, ttl=ttl)
        assert stored is not None  # the winner committed its row before we could see it
        return stored, True
    response = await action(conn)
    await _remember(conn, **scope, response=response)
    return response, False


_EXPIRED = (
    select(idempotency_keys.c.org_id, idempotency_keys.c.user_id, idempotency_keys.c.key)
    .where(idempotency_keys.c.created_at <= bindparam("cutoff"))
    .limit(bindparam("batch"))
)
_PURGE = delete(idempotency_keys).where(
    tuple_(idempotency_keys.c.org_id, idempotency_keys.c.user_id, idempotency_keys.c.key).in_(
        _EXPIRED
    )
)


async def purge_expired(conn: Conn, *, now: datetime, ttl: timedelta, batch: int) -> int:
    """Delete up to `batch` entries older than `ttl` (by the created_at index); how many."""
    result = await conn.execute(_PURGE, {"cutoff": now - ttl, "batch": batch})
    return int(result.rowcount)
