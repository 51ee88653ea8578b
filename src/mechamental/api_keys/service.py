"""API key operations for the HTTP API. Callers own the transaction; these never commit.

The table and its queries are `auth.tokens`' (the CLI uses the same functions); this adds
the rules of managing keys over HTTP: only live keys are shown, an owner key is minted and
revoked by owners only, and every lookup is confined to the org of the path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mechamental.auth import tokens
from mechamental.auth.permissions import Permission, Role, can_grant
from mechamental.db import Conn
from mechamental.errors import Forbidden, ResourceNotFound, validation_error
from mechamental.types import api_timestamp
from mechamental.workspaces.cursor import Position

RESOURCE = "api_key"
# Plain str keys: orjson refuses SQLAlchemy's `quoted_name` as a dict key.
_API_FIELDS = ("id", "name", "role", "user_id", "created_at", "expires_at", "last_used_at")
_TIMES = ("created_at", "expires_at", "last_used_at")


def to_api(row: Mapping[str, Any]) -> dict[str, Any]:
    """A key's row as the API shows it (timestamps as the workspaces' `api_timestamp` text)."""
    out = {name: row[name] for name in _API_FIELDS}
    for name in _TIMES:
        if out[name] is not None:
            out[name] = api_timestamp(out[name])
    return out


@dataclass(frozen=True, slots=True)
class Page:
    """One page of an org's live keys, newest first."""

    total: int
    items: Sequence[Mapping[str, Any]]
    has_more: bool

    @property
    def last_position(self) -> Position | None:
        """Where the next page starts, if there is one (the cursor's id is the key's)."""
        if not self.has_more:
            return None
        last = self.items[-1]
        return Position(last["created_at"], last["id"])


def _check_grant(caller_role: Role, role: Role) -> None:
    if not can_grant(caller_role, role):
        raise Forbidden(
            Permission.API_KEY_MANAGE.value,
            message="Only an owner can mint or revoke an owner key",
            required_role=Role.OWNER.value,
        )


async def create_api_key(
    conn: Conn,
    *,
    org_id: str,
    caller_role: Role,
    name: str,
    role: Role,
    user_id: str,
    expires_at: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    """Mint a key; the result, in the API's shape, carries the secret (shown only here)."""
    _check_grant(caller_role, role)
    if expires_at is not None and expires_at <= now:
        raise validation_error(
            ["body", "expires_at"],
            "expires_at must be in the future",
            api_timestamp(expires_at),
            "value_error",
        )
    # An org named only by JWTs has no row yet, and a key references its org.
    await tokens.ensure_org(conn, org_id=org_id)
    issued = await tokens.create_token(
        conn, org_id=org_id, user_id=user_id, role=role, expires_at=expires_at, name=name
    )
    row = {
        "id": issued.id,
        "name": name,
        "role": role.value,
        "user_id": user_id,
        "created_at": issued.created_at,
        "expires_at": issued.expires_at,
        "last_used_at": None,
    }
    return to_api(row) | {"secret": issued.secret}


async def list_api_keys(
    conn: Conn, *, org_id: str, limit: int, after: Position | None, now: datetime
) -> Page:
    """A page of the org's live keys (neither revoked nor expired), strictly after `after`."""
    rows = await tokens.list_tokens(
        conn,
        org_id=org_id,
        live_at=now,
        after=None if after is None else (after.created_at, after.workspace_id),
        limit=limit + 1,
    )
    total = await tokens.count_tokens(conn, org_id=org_id, live_at=now)
    return Page(total=total, items=rows[:limit], has_more=len(rows) > limit)


async def get_api_key(conn: Conn, *, org_id: str, key_id: str, now: datetime) -> dict[str, Any]:
    """One live key of the org in the API's shape, or 404 (another org's key included)."""
    row = await tokens.get_token(conn, org_id=org_id, token_id=key_id, live_at=now)
    if row is None:
        raise ResourceNotFound(RESOURCE, key_id)
    return to_api(row)


async def revoke_api_key(
    conn: Conn, *, org_id: str, key_id: str, caller_role: Role, now: datetime
) -> None:
    """Revoke one live key of the org: 404 if there is none, 403 for an admin and an owner key."""
    row = await tokens.get_token(conn, org_id=org_id, token_id=key_id, live_at=now, lock=True)
    if row is None:
        raise ResourceNotFound(RESOURCE, key_id)
    _check_grant(caller_role, Role(row["role"]))
    revoked = await tokens.revoke_token(conn, org_id=org_id, token_id=key_id)
    assert revoked  # the row is locked and was live
