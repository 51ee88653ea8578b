"""Every `FastQuery` returns what SQLAlchemy returns for the same statement, on both databases.

The fast path skips SQLAlchemy's result processing and converts values itself; this
checks, query by query and column by column, that the values and their types agree
(aware UTC datetimes on both databases, or `api_text` timestamps, decoded JSON, bools), on
a reader and inside a transaction. A new FastQuery with a bind name unknown here fails
until one is given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

import mechamental.app  # noqa: F401 (imports every module, so every FastQuery exists)
from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Conn
from mechamental.fastquery import FastQuery
from mechamental.types import api_timestamp
from tests.conftest import Tenant
from tests.helpers import create_ws


def values_for(tenant: Tenant, workspace_id: str, token_hash: str, token_id: str) -> dict[str, Any]:
    """A value for every bind name a FastQuery uses (aliases included)."""
    return {
        "token_id": token_id,
        "since": datetime.now(UTC) - timedelta(hours=1),
        "org_id": tenant.org_id,
        "o": tenant.org_id,
        "workspace_id": workspace_id,
        "w": workspace_id,
        "token_hash": token_hash,
        "limit": 10,
        "after_created_at": datetime.now(UTC) + timedelta(days=1),
        "after_id": "~",
    }


def expected(query: FastQuery, value: Any) -> Any:
    """SQLAlchemy's value as the fast path must give it (`api_text` timestamps as text)."""
    if query.api_text and isinstance(value, datetime):
        assert value.utcoffset() == timedelta(0), value
        return api_timestamp(value)
    return value


async def compare(conn: Conn, query: FastQuery, known: dict[str, Any]) -> int:
    """Run `query` both ways on `conn`; assert equal rows and types; how many rows."""
    compiled = query.compiled(conn.dialect)
    required = [n for n in compiled.names if n not in compiled.defaults]
    missing = [n for n in required if n not in known]
    assert not missing, f"give the parity test a value for bind {missing} of {query.stmt}"
    params = {n: known[n] for n in required}
    fast = await conn.fetch(query, params)
    result = await conn.execute(query.stmt, params)
    slow = [{str(k): expected(query, v) for k, v in row.items()} for row in result.mappings()]
    assert fast == slow, (str(query.stmt), fast, slow)
    for fast_row, slow_row in zip(fast, slow, strict=True):
        for key, value in slow_row.items():
            assert type(fast_row[key]) is type(value), (key, fast_row[key], value)
            if isinstance(value, datetime):
                assert value.utcoffset() == timedelta(0), (key, value)
    return len(fast)


async def test_every_fastquery_matches_sqlalchemy(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    db = app.state.services.db
    first = await create_ws(client, tenant, name="one", tags=["a", "b"], description="d")
    await create_ws(client, tenant, name="two", is_active=False)
    join = f"{tenant.base}/{first['workspace_id']}/sync/presence/join"
    assert (await client.post(join, headers=tenant.headers())).status_code == 200
    async with db.transaction() as conn:
        issued = await tokens.create_token(
            conn,
            org_id=tenant.org_id,
            user_id="expiring",
            role=Role.VIEWER,
            expires_in=timedelta(days=1),
        )
        revoked = await tokens.create_token(
            conn, org_id=tenant.org_id, user_id="gone", role=Role.VIEWER
        )
        assert await tokens.revoke_token(conn, org_id=tenant.org_id, token_id=revoked.id)
    known = values_for(tenant, first["workspace_id"], tokens.hash_token(issued.secret), issued.id)
    assert FastQuery.instances
    for query in FastQuery.instances:
        async with db.reader() as conn:
            rows = await compare(conn, query, known)
        assert rows >= 1, f"no rows to compare for {query.stmt}"
        async with db.transaction() as conn:
            assert await compare(conn, query, known) == rows
