"""API keys: random secrets, stored only as their SHA-256 (JWTs: `jwt_verifier`)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)

from mechamental.auth.models import api_tokens, organizations
from mechamental.auth.permissions import Role
from mechamental.auth.principals import Principal
from mechamental.db import Conn, insert_if_absent
from mechamental.fastquery import FastQuery
from mechamental.ids import new_id
from mechamental.types import UTCDateTime, utcnow

TOKEN_PREFIX = "mm_"


def hash_token(token: str) -> str:
    """The stored form of a token (a high-entropy secret needs no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly made API key: `secret` is shown once and never stored."""

    id: str
    secret: str
    created_at: datetime
    expires_at: datetime | None


async def create_org(conn: Conn, *, name: str, org_id: str | None = None) -> str:
    """Create an organization and return its id."""
    org_id = org_id or new_id()
    await conn.execute(
        insert(organizations).values(id=org_id, name=name, created_at=utcnow(), workspace_count=0)
    )
    return org_id


async def ensure_org(conn: Conn, *, org_id: str) -> None:
    """Make sure `org_id` has a row (keys reference it): orgs named by JWTs may have none yet."""
    await conn.execute(
        insert_if_absent(conn, organizations).values(
            id=org_id, name=org_id, created_at=utcnow(), workspace_count=0
        )
    )


async def list_orgs(conn: Conn) -> list[dict[str, Any]]:
    """Every organization, oldest first."""
    rows = await conn.execute(select(organizations).order_by(organizations.c.created_at))
    return [dict(row) for row in rows.mappings()]


async def create_token(
    conn: Conn,
    *,
    org_id: str,
    user_id: str,
    role: Role,
    expires_in: timedelta | None = None,
    expires_at: datetime | None = None,
    name: str = "",
) -> IssuedToken:
    """Issue an API key for `user_id` in `org_id` with `role`, ending after `expires_in` or at
    `expires_at` (at most one of them; neither: it never expires)."""
    if expires_in is not None and expires_at is not None:
        raise ValueError("give expires_in or expires_at, not both")
    token_id = new_id()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    if expires_in is not None:
        expires_at = now + expires_in
    await conn.execute(
        insert(api_tokens).values(
            id=token_id,
            org_id=org_id,
            name=name,
            user_id=user_id,
            role=role.value,
            token_hash=hash_token(secret),
            created_at=now,
            expires_at=expires_at,
        )
    )
    return IssuedToken(id=token_id, secret=secret, created_at=now, expires_at=expires_at)


# Every column but the hash: what listing a key may show.
TOKEN_COLUMNS = tuple(c for c in api_tokens.c if c.name != "token_hash")
_NEWEST_FIRST = (api_tokens.c.created_at.desc(), api_tokens.c.id.desc())


def _live(now: datetime) -> ColumnElement[bool]:
    """Keys that authenticate at `now`: not revoked, not expired."""
    return and_(
        api_tokens.c.revoked_at.is_(None),
        or_(api_tokens.c.expires_at.is_(None), api_tokens.c.expires_at > now),
    )


def _in_org(org_id: str, live_at: datetime | None) -> list[ColumnElement[bool]]:
    where = [api_tokens.c.org_id == org_id]
    if live_at is not None:
        where.append(_live(live_at))
    return where


# Listing is off the hot path (admins, the CLI): statements are built per call (AGENTS.md).
async def list_tokens(
    conn: Conn,
    *,
    org_id: str,
    live_at: datetime | None = None,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """An org's tokens, newest first, without their hashes.

    `live_at`: only those that authenticate then; `after`: only those strictly after that
    (created_at, id) position in this order (keyset pagination); `limit`: at most so many.
    """
    query = select(*TOKEN_COLUMNS).where(*_in_org(org_id, live_at))
    if after is not None:
        query = query.where(
            tuple_(api_tokens.c.created_at, api_tokens.c.id)
            < tuple_(
                # Typed: SQLite compares the stored text, so the time must be in its format.
                literal(after[0], api_tokens.c.created_at.type),
                literal(after[1], api_tokens.c.id.type),
            )
        )
    query = query.order_by(*_NEWEST_FIRST)
    if limit is not None:
        query = query.limit(limit)
    rows = await conn.execute(query)
    return [dict(row) for row in rows.mappings()]


async def count_tokens(conn: Conn, *, org_id: str, live_at: datetime | None = None) -> int:
    """How many tokens `list_tokens` would give without `after` and `limit`."""
    query = select(func.count()).select_from(api_tokens).where(*_in_org(org_id, live_at))
    return int((await conn.execute(query)).scalar_one())


async def get_token(
    conn: Conn, *, org_id: str, token_id: str, live_at: datetime | None = None, lock: bool = False
) -> dict[str, Any] | None:
    """One of the org's tokens (without its hash), or None; `lock` holds it until commit."""
    query = select(*TOKEN_COLUMNS).where(api_tokens.c.id == token_id, *_in_org(org_id, live_at))
    if lock:
        query = query.with_for_update()  # PostgreSQL; SQLite's writer already holds the file
    row = (await conn.execute(query)).mappings().first()
    return None if row is None else dict(row)


async def revoke_token(conn: Conn, *, org_id: str | None, token_id: str) -> bool:
    """Revoke a token of `org_id`; False when that org has no unrevoked token with that id.

    `org_id` is required so that no tenant-facing caller can forget it; only an operator
    (the CLI, which has the whole database anyway) passes None for "any org".
    """
    where = [api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None)]
    if org_id is not None:
        where.append(api_tokens.c.org_id == org_id)
    result = await conn.execute(update(api_tokens).where(*where).values(revoked_at=utcnow()))
    return bool(result.rowcount)


# Built once: the usage flush runs it every minute. Bind names must differ from columns'.
_USED_AT = bindparam("used_at", type_=UTCDateTime)
_RECORD_USE = (
    update(api_tokens)
    .where(
        api_tokens.c.id == bindparam("key_id"),
        or_(
            api_tokens.c.last_used_at.is_(None),
            and_(
                api_tokens.c.last_used_at < bindparam("stale_before", type_=UTCDateTime),
                api_tokens.c.last_used_at < _USED_AT,
            ),
        ),
    )
    .values(last_used_at=_USED_AT)
)


async def record_uses(
    conn: Conn, uses: Mapping[str, datetime], *, now: datetime, min_interval: timedelta
) -> None:
    """Set `last_used_at` for many keys in one batched UPDATE (executemany).

    A row stamped within `min_interval` before `now`, or later than the new time, is left
    alone: with several processes flushing, each key is still written about once per
    interval at most, and never moved back in time.
    """
    if not uses:
        return
    stale_before = now - min_interval
    params = [
        {"key_id": key_id, "used_at": used_at, "stale_before": stale_before}
        for key_id, used_at in uses.items()
    ]
    await conn.execute(_RECORD_USE, params)


_TOKEN_BY_HASH = FastQuery(
    select(
        api_tokens.c.id,
        api_tokens.c.org_id,
        api_tokens.c.user_id,
        api_tokens.c.role,
        api_tokens.c.expires_at,
        api_tokens.c.revoked_at,
    ).where(api_tokens.c.token_hash == bindparam("token_hash"))
)


async def principal_from_api_key(conn: Conn, token: str, now: datetime) -> Principal | None:
    """The principal behind an API key, or None if unknown, revoked or expired."""
    rows = await conn.fetch(_TOKEN_BY_HASH, {"token_hash": hash_token(token)})
    if not rows or rows[0]["revoked_at"] is not None:
        return None
    row = rows[0]
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return None
    expires = row["expires_at"]
    return Principal(
        user_id=row["user_id"],
        org_id=row["org_id"],
        role=Role(row["role"]),
        token_id=row["id"],
        expires_at=expires.timestamp() if expires is not None else None,
    )


_KEY_STATE = FastQuery(
    select(api_tokens.c.expires_at, api_tokens.c.revoked_at).where(
        api_tokens.c.id == bindparam("token_id")
    )
)
_REVOKED_SINCE = FastQuery(
    select(api_tokens.c.id).where(api_tokens.c.revoked_at > bindparam("since"))
)


async def api_key_is_live(conn: Conn, *, token_id: str, now: datetime) -> bool:
    """Whether the key `token_id` is neither revoked nor expired (a ticket made from it opens)."""
    rows = await conn.fetch(_KEY_STATE, {"token_id": token_id})
    if not rows or rows[0]["revoked_at"] is not None:
        return False
    expires = rows[0]["expires_at"]
    return expires is None or expires > now


async def revoked_since(conn: Conn, *, since: datetime) -> list[str]:
    """Ids of the keys revoked after `since` (polled by every process that holds streams)."""
    return [row["id"] for row in await conn.fetch(_REVOKED_SINCE, {"since": since})]
