"""API keys: random secrets, stored only as their SHA-256 (JWTs: `jwt_verifier`)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from mechamental.auth.models import api_tokens, organizations
from mechamental.auth.permissions import Role
from mechamental.auth.principals import Principal
from mechamental.db import Conn
from mechamental.fastquery import FastQuery
from mechamental.ids import new_id
from mechamental.types import utcnow

TOKEN_PREFIX = "mm_"


def hash_token(token: str) -> str:
    """The stored form of a token (a high-entropy secret needs no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A freshly made API key: `secret` is shown once and never stored."""

    id: str
    secret: str


async def create_org(conn: Conn, *, name: str, org_id: str | None = None) -> str:
    """Create an organization and return its id."""
    org_id = org_id or new_id()
    await conn.execute(
        insert(organizations).values(id=org_id, name=name, created_at=utcnow(), workspace_count=0)
    )
    return org_id


async def list_orgs(conn: Conn) -> list[dict[str, Any]]:
    """Every organization, oldest first."""
    rows = await conn.execute(select(organizations).order_by(organizations.c.created_at))
    return [dict(row) for row in rows.mappings()]


async def create_token(
    conn: Conn, *, org_id: str, user_id: str, role: Role, expires_in: timedelta | None = None
) -> IssuedToken:
    """Issue an API key for `user_id` in `org_id` with `role`."""
    token_id = new_id()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    await conn.execute(
        insert(api_tokens).values(
            id=token_id,
            org_id=org_id,
            user_id=user_id,
            role=role.value,
            token_hash=hash_token(secret),
            created_at=now,
            expires_at=now + expires_in if expires_in else None,
        )
    )
    return IssuedToken(id=token_id, secret=secret)


async def list_tokens(conn: Conn, *, org_id: str) -> list[dict[str, Any]]:
    """An org's tokens, without their hashes."""
    cols = [c for c in api_tokens.c if c.name != "token_hash"]
    rows = await conn.execute(
        select(*cols).where(api_tokens.c.org_id == org_id).order_by(api_tokens.c.created_at)
    )
    return [dict(row) for row in rows.mappings()]


async def revoke_token(conn: Conn, *, token_id: str) -> bool:
    """Revoke a token; False when no live token has that id."""
    result = await conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return bool(result.rowcount)


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
