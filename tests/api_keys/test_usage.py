"""last_used_at: noted in memory by authentication, written in batches by the flusher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from mechamental.api_keys.usage import KeyUsageFlusher
from mechamental.auth import tokens
from mechamental.auth.models import api_tokens
from mechamental.auth.usage import KeyUsage
from mechamental.db import Database
from mechamental.errors import DatabaseUnavailable
from tests.api_keys.helpers import create_key, keys_url
from tests.conftest import Tenant, create_tenant, make_settings
from tests.helpers import bearer, eventually, parse_utc, running_app

T0 = datetime(2030, 1, 1, tzinfo=UTC)


async def last_used(db: Database, key_id: str) -> datetime | None:
    async with db.reader() as conn:
        row = (
            await conn.execute(select(api_tokens.c.last_used_at).where(api_tokens.c.id == key_id))
        ).one()
    value: datetime | None = row.last_used_at
    return value


def flusher_of(app: FastAPI, interval: float = 60.0) -> KeyUsageFlusher:
    """A flusher over the app's own usage record (the app's own one waits a minute)."""
    services = app.state.services
    return KeyUsageFlusher(services.db, services.key_usage, interval)


def test_key_usage_keeps_the_latest_use_and_restores_failed_ones() -> None:
    usage = KeyUsage()
    usage.record("a", T0)
    usage.record("a", T0 + timedelta(seconds=5))
    usage.record("b", T0)
    taken = usage.take()
    assert taken == {"a": T0 + timedelta(seconds=5), "b": T0}
    assert len(usage) == 0 and usage.take() == {}
    usage.record("a", T0 + timedelta(seconds=9))  # used again while the flush failed
    usage.restore(taken)
    assert usage.take() == {"a": T0 + timedelta(seconds=9), "b": T0}


async def test_authentication_does_not_write_and_the_flush_does(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    db = app.state.services.db
    key = await create_key(client, tenant, role="viewer")
    assert key["last_used_at"] is None
    before = datetime.now(UTC)
    for _ in range(3):
        assert (await client.get(tenant.base, headers=bearer(key["secret"]))).status_code == 200
    after = datetime.now(UTC)
    assert await last_used(db, key["id"]) is None  # nothing written on the request path
    assert await flusher_of(app).flush() >= 1
    stamped = await last_used(db, key["id"])
    assert stamped is not None and before <= stamped <= after
    shown = await client.get(keys_url(tenant, key["id"]), headers=tenant.headers())
    assert parse_utc(shown.json()["last_used_at"]) == stamped
    # Keys not used since are left alone; an empty flush writes nothing.
    unused = await create_key(client, tenant, role="viewer")
    await flusher_of(app).flush()
    assert await last_used(db, unused["id"]) is None


async def test_a_key_is_written_at_most_once_per_interval(app: FastAPI, tenant: Tenant) -> None:
    db: Database = app.state.services.db
    async with db.transaction() as conn:
        issued = await tokens.create_token(
            conn, org_id=tenant.org_id, user_id="u", role=tokens.Role.VIEWER
        )
    minute = timedelta(seconds=60)

    async def record(used: datetime, now: datetime) -> datetime | None:
        async with db.transaction() as conn:
            await tokens.record_uses(conn, {issued.id: used}, now=now, min_interval=minute)
        return await last_used(db, issued.id)

    assert await record(T0, T0) == T0
    # Within a minute of the last write: left alone (another process may have just written).
    assert await record(T0 + timedelta(seconds=30), T0 + timedelta(seconds=40)) == T0
    assert await record(T0 + timedelta(seconds=90), T0 + timedelta(seconds=95)) == T0 + timedelta(
        seconds=90
    )
    # Never moved back in time, whatever the interval.
    assert await record(T0, T0 + timedelta(hours=1)) == T0 + timedelta(seconds=90)


async def test_a_failed_flush_keeps_the_uses_for_the_next(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = await create_key(client, tenant, role="viewer")
    assert (await client.get(tenant.base, headers=bearer(key["secret"]))).status_code == 200
    real = tokens.record_uses

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("database away")

    monkeypatch.setattr(tokens, "record_uses", broken)
    with pytest.raises(DatabaseUnavailable):  # db.py's reading of a lost connection
        await flusher_of(app).flush()
    assert await last_used(app.state.services.db, key["id"]) is None
    monkeypatch.setattr(tokens, "record_uses", real)
    await flusher_of(app).flush()
    assert await last_used(app.state.services.db, key["id"]) is not None


async def test_the_flusher_runs_on_its_interval_and_on_stop(
    database_url: str, tmp_path: Path
) -> None:
    quick = make_settings(database_url, tmp_path, api_key_usage_flush_seconds=0.05)
    async with running_app(quick) as (app, client):
        tenant = await create_tenant(app.state.services.db, "usage")
        key = await create_key(client, tenant, role="viewer")
        assert (await client.get(tenant.base, headers=bearer(key["secret"]))).status_code == 200
        db = app.state.services.db

        async def probe() -> datetime | None:
            return await last_used(db, key["id"])

        await eventually(probe, lambda value: value is not None)

    slow = make_settings(database_url, tmp_path, api_key_usage_flush_seconds=3600)
    async with running_app(slow) as (app, client):
        assert (await client.get(tenant.base, headers=bearer(key["secret"]))).status_code == 200
        viewer_id = await key_id_of(app, tenant, "viewer")
        assert await last_used(app.state.services.db, viewer_id) is None
        assert (await client.get(tenant.base, headers=tenant.headers("viewer"))).status_code == 200
    # The app has stopped: its last flush wrote the use.
    db = Database(database_url)
    try:
        assert await last_used(db, viewer_id) is not None
    finally:
        await db.dispose()


async def key_id_of(app: FastAPI, tenant: Tenant, role: str) -> str:
    async with app.state.services.db.reader() as conn:
        rows = await tokens.list_tokens(conn, org_id=tenant.org_id)
    return next(str(r["id"]) for r in rows if r["user_id"] == tenant.users[role])
