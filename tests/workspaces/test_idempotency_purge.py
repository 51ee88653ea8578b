"""Expired Idempotency-Keys are deleted on a schedule, in small batches: the table stays bounded."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, insert, select

from mechamental.db import Database
from mechamental.types import utcnow
from mechamental.workspaces.idempotency import purge_expired
from mechamental.workspaces.models import idempotency_keys
from tests.conftest import create_tenant, make_settings
from tests.helpers import eventually, running_app


def rows(org_id: str, count: int, age: timedelta) -> list[dict[str, object]]:
    created = utcnow() - age
    return [
        {
            "org_id": org_id,
            "user_id": "u",
            "key": f"k-{uuid.uuid4()}",
            "request_hash": "0" * 64,
            "status_code": 201,
            "response_body": "{}",
            "created_at": created,
        }
        for _ in range(count)
    ]


async def count(db: Database, org_id: str) -> int:
    async with db.reader() as conn:
        result = await conn.execute(select(func.count()).where(idempotency_keys.c.org_id == org_id))
        return int(result.scalar_one())


async def test_purge_takes_small_batches_and_keeps_live_keys(database_url: str) -> None:
    db = Database(database_url)
    org_id = f"purge-{uuid.uuid4().hex[:8]}"
    try:
        async with db.transaction() as conn:
            await conn.execute(insert(idempotency_keys), rows(org_id, 250, timedelta(days=2)))
            await conn.execute(insert(idempotency_keys), rows(org_id, 5, timedelta(minutes=1)))
        removed = []
        while True:
            async with db.transaction() as conn:
                removed.append(
                    await purge_expired(conn, now=utcnow(), ttl=timedelta(days=1), batch=100)
                )
            if removed[-1] < 100:
                break
        # Other tests' orgs may have expired keys too: only this org's are counted.
        assert sum(removed) >= 250 and all(n <= 100 for n in removed), removed
        assert await count(db, org_id) == 5
    finally:
        await db.dispose()


async def test_the_app_purges_expired_keys_on_its_own(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(
        database_url, tmp_path, idempotency_ttl_seconds=3600, retention_interval_seconds=0.05
    )
    async with running_app(settings) as (app, client):
        db: Database = app.state.services.db
        tenant = await create_tenant(db, "purging")
        # Traffic with keys: each POST leaves one row...
        for i in range(5):
            headers = {**tenant.headers(), "Idempotency-Key": f"live-{i}"}
            made = await client.post(tenant.base, json={"name": f"w{i}"}, headers=headers)
            assert made.status_code == 201
        # ...and rows a day old, as if the service had been up for long, are the backlog.
        async with db.transaction() as conn:
            await conn.execute(
                insert(idempotency_keys), rows(tenant.org_id, 1200, timedelta(hours=2))
            )
        await eventually(lambda: count(db, tenant.org_id), lambda n: n == 5)
