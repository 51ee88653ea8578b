"""A process's presence lease outlives a stuck database: announcements that wait on it must
never let another process reap this one's live streams (found by bench/chaos.py).

Two apps in this test process share PostgreSQL and a Redis prefix. A third connection holds
the workspace's row lock, so an announcement of that workspace waits (every presence event
takes its seq under that lock); the leases of both processes must stay renewed meanwhile,
and the member held by a live stream must stay present without a `presence.left`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from mechamental.app import create_app
from mechamental.config import SyncTuning
from mechamental.sync.events import log as eventlog
from mechamental.sync.hub import hub_of
from tests.conftest import create_tenant, make_settings
from tests.helpers import eventually
from tests.sync.conftest import REDIS_URL, new_workspace, presence, serve, stop_server
from tests.sync.sse import open_stream

LEASE = 2.0
LOCK_SECONDS = 3 * LEASE


def app_for(url: str, tmp_path: Path, prefix: str, sweep: float) -> FastAPI:
    """An app on the shared database and Redis prefix."""
    settings = make_settings(
        url,
        tmp_path,
        redis_url=REDIS_URL,
        redis_prefix=prefix,
        presence_ttl_seconds=1.0,
        presence_grace_seconds=1.0,
        sync=SyncTuning(sweep_interval_seconds=sweep, process_lease_seconds=LEASE),
    )
    return create_app(settings)


@pytest.fixture
async def two_apps(
    postgres_database_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    """A (settles often, so it is the one whose announcement waits) and B (rarely)."""
    a = app_for(postgres_database_url, tmp_path / "a", redis_prefix, sweep=0.05)
    b = app_for(postgres_database_url, tmp_path / "b", redis_prefix, sweep=1.0)
    async with AsyncExitStack() as stack:
        for app in (a, b):
            await stack.enter_async_context(app.router.lifespan_context(app))
        yield a, b


async def lease_deadlines(redis: Redis, prefix: str) -> dict[str, float]:
    """Each process's lease deadline in the store."""
    pairs = await redis.zrange(f"{prefix}:presence:{{procs}}", 0, -1, withscores=True)
    return {member.decode(): score for member, score in pairs}


@pytest.mark.parametrize("bus", ["redis"], indirect=True)
async def test_a_stuck_announcement_never_lets_the_lease_lapse(
    two_apps: tuple[FastAPI, FastAPI], redis_prefix: str, postgres_database_url: str
) -> None:
    a, b = two_apps
    hub_a = hub_of(a.state.services)
    tenant = await create_tenant(hub_a.db, "lease")
    uv, port, task = await serve(a)
    redis = Redis.from_url(REDIS_URL)
    transport = httpx.ASGITransport(app=b)
    async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
        ws_id = await new_workspace(client, tenant)
        stream = await open_stream(
            port, f"{tenant.base}/{ws_id}/sync/stream", tenant.headers("owner")
        )
        assert (await stream.next()).event == "sync.connected"
        owner, visitor = tenant.users["owner"], tenant.users["member"]
        assert (await presence(client, tenant, ws_id, "join", role="owner")).status_code == 200

        async def members() -> dict[str, int]:
            url = f"{tenant.base}/{ws_id}/sync/presence"
            body = (await client.get(url, headers=tenant.headers())).json()
            return {m["user_id"]: m["connections"] for m in body["members"]}

        await eventually(members, lambda m: m.get(owner) == 1)
        # The visitor has no stream: their TTL runs out while the row is held, so A's
        # settling loop waits on the lock to announce them left.
        assert (await presence(client, tenant, ws_id, "join", role="member")).status_code == 200
        holder = await asyncpg.connect(postgres_database_url.replace("+asyncpg", ""))
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT 1 FROM workspaces WHERE workspace_id = $1 FOR UPDATE", ws_id)
        leases = await eventually(
            lambda: lease_deadlines(redis, redis_prefix), lambda d: len(d) == 2
        )
        processes = set(leases)
        lapsed: list[tuple[str, float | None]] = []  # (process, seconds past, None if reaped)
        until = time.time() + LOCK_SECONDS
        while time.time() < until:
            now, deadlines = time.time(), await lease_deadlines(redis, redis_prefix)
            lapsed += [(p, None) for p in processes - set(deadlines)]
            lapsed += [(p, now - d) for p, d in deadlines.items() if d < now]
            await asyncio.sleep(0.1)
        await tx.rollback()
        await holder.close()
        assert not lapsed, f"leases lapsed while an announcement waited: {lapsed}"

        await eventually(members, lambda m: visitor not in m)
        async with hub_a.db.reader() as conn:
            events = await eventlog.read_events(
                conn, org_id=tenant.org_id, workspace_id=ws_id, after=0
            )
        left = [e.data["user_id"] for e in events if e.type == "presence.left"]
        assert left == [visitor]  # the owner, whose stream stayed open, never left
        assert (await members()).get(owner) == 1
        stream.close()
    await redis.aclose()
    await stop_server(uv, task)
