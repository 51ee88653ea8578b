"""API keys (random secrets stored as SHA-256) and JWT verification."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import bindparam, insert, select, update

from mechamental.auth.models import api_tokens, organizations
from mechamental.auth.permissions import Role
from mechamental.auth.principals import Principal
from mechamental.config import Settings
from mechamental.db import Conn
from mechamental.fastquery import FastQuery
from mechamental.ids import new_id
from mechamental.types import utcnow

TOKEN_PREFIX = "mm_"
VERIFIED_JWT_CACHE_SIZE = 10_000


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


class JWTVerifier:
    """Checks bearer JWTs: HS256 with a shared secret, or RS256/ES256 with a public key."""

    def __init__(self, settings: Settings) -> None:
        self.key: str | None = None
        self.algorithms: list[str] = []
        if settings.jwt_public_key:
            key = settings.jwt_public_key
            if not key.lstrip().startswith("-----BEGIN"):
                with open(key) as fh:  # a path to a PEM file
                    key = fh.read()
            self.key, self.algorithms = key, ["RS256", "ES256"]
        elif settings.jwt_secret:
            self.key, self.algorithms = settings.jwt_secret, ["HS256"]
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        # A verified JWT stays valid until its `exp` (JWTs cannot be revoked), so the result
        # is cached by the exact token string: a signature check per call costs ~0.2 ms.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def verify(self, token: str) -> Principal | None:
        """The principal a valid JWT names, or None for any invalid one."""
        if self.key is None:
            return None
        hit = self._verified.get(token)
        if hit is not None:
            if time.time() < hit[1]:
                self._verified.move_to_end(token)
                return hit[0]
            del self._verified[token]
        principal, expires = self._decode(token)
        if principal is not None:
            self._verified[token] = (principal, expires)
            if len(self._verified) > VERIFIED_JWT_CACHE_SIZE:
                self._verified.popitem(last=False)
        return principal

    def _decode(self, token: str) -> tuple[Principal | None, float]:
        assert self.key is not None
        required = ["exp", "sub", "org_id", "role"]
        if self.audience:
            required.append("aud")
        if self.issuer:
            required.append("iss")
        try:
            claims = jwt.decode(
                token,
                self.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": required},
                leeway=5,
            )
        except jwt.PyJWTError:
            return None, 0.0
        sub, org_id, role = claims.get("sub"), claims.get("org_id"), claims.get("role")
        if not (isinstance(sub, str) and sub and isinstance(org_id, str) and org_id):
            return None, 0.0
        # Ids we could not store (column sizes; NUL, which PostgreSQL refuses) are invalid claims.
        if len(sub) > 200 or len(org_id) > 64 or "\x00" in sub + org_id:
            return None, 0.0
        if not isinstance(role, str) or role not in Role.__members__.values():
            return None, 0.0
        exp = float(claims["exp"])
        return Principal(user_id=sub, org_id=org_id, role=Role(role), expires_at=exp), exp


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
