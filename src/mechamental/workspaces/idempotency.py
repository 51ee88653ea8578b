"""Idempotent creates: the same `Idempotency-Key` from the same user replays the first answer."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from mechamental.db import Conn, Database
from mechamental.errors import validation_error
from mechamental.types import utcnow
from mechamental.workspaces.models import idempotency_keys

KEY_LOC: list[str | int] = ["header", "idempotency-key"]


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


async def remember(
    conn: Conn,
    *,
    org_id: str,
    user_id: str,
    key: str,
    digest: str,
    response: StoredResponse,
    ttl: timedelta,
) -> None:
    """Store the response for this key (replacing an expired entry, never a live one)."""
    await conn.execute(
        delete(idempotency_keys).where(
            _where(org_id, user_id, key), idempotency_keys.c.created_at <= utcnow() - ttl
        )
    )
    await conn.execute(
        insert(idempotency_keys).values(
            org_id=org_id,
            user_id=user_id,
            key=key,
            request_hash=digest,
            status_code=response.status_code,
            response_body=response.body.decode(),
            created_at=utcnow(),
        )
    )


async def purge_expired(conn: Conn, *, ttl: timedelta) -> int:
    """Delete entries older than `ttl`; returns how many."""
    result = await conn.execute(
        delete(idempotency_keys).where(idempotency_keys.c.created_at <= utcnow() - ttl)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def run_once(
    db: Database,
    *,
    org_id: str,
    user_id: str,
    key: str | None,
    digest: str,
    ttl: timedelta,
    action: Callable[[Conn], Awaitable[StoredResponse]],
) -> tuple[StoredResponse, bool]:
    """Run `action` in a transaction at most once per key; returns (response, replayed)."""
    if key is not None:
        check_key(key)
    for attempt in range(2):
        try:
            async with db.transaction() as conn:
                if key is not None:
                    stored = await lookup(
                        conn, org_id=org_id, user_id=user_id, key=key, digest=digest, ttl=ttl
                    )
                    if stored is not None:
                        return stored, True
                response = await action(conn)
                if key is not None:
                    await remember(
                        conn,
                        org_id=org_id,
                        user_id=user_id,
                        key=key,
                        digest=digest,
                        response=response,
                        ttl=ttl,
                    )
            return response, False
        except IntegrityError:
            # A concurrent request with the same key won; the retry replays its answer.
            if key is None or attempt:
                raise
    raise AssertionError("unreachable")
