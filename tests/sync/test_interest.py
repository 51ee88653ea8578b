"""Fan-out between processes follows interest: a process receives only the workspaces it
has streams for, from the moment it subscribes, with nothing lost around the subscription."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from mechamental.db import Database
from mechamental.sync.events.models import events
from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.procs import FAST, ServerProcess, create_ws, launch, server_env, stream_on

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]
TOKEN = "metrics-token-for-tests"
LINGER = "1"


async def metric(client: httpx.AsyncClient, proc: ServerProcess, name: str) -> float:
    """One unlabelled sample of a process's /metrics (0 when absent)."""
    response = await client.get(f"{proc.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and not sample.labels:
                return float(sample.value)
    return 0.0


async def unpublished(database_url: str, workspace_id: str) -> int:
    """Events of the workspace committed but not yet handed to the bus."""
    db = Database(database_url)
    try:
        async with db.reader() as conn:
            query = select(func.count()).where(
                events.c.workspace_id == workspace_id, events.c.published.is_(False)
            )
            return int((await conn.execute(query)).scalar_one())
    finally:
        await db.dispose()


async def update(
    client: httpx.AsyncClient, proc: ServerProcess, tenant: Tenant, ws: str, n: int
) -> None:
    response = await client.put(
        f"{proc.url}{tenant.base}/{ws}", json={"name": f"v{n}"}, headers=tenant.headers()
    )
    assert response.status_code == 200, response.text


async def test_a_process_receives_only_the_workspaces_it_serves(
    tenant_db: Tenant,
    database_url: str,
    redis_url: str,
    prefix: str,
    procs: list[ServerProcess],
    tmp_path: Path,
) -> None:
    env = server_env(
        database_url=database_url,
        data_dir=tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        MECHAMENTAL_METRICS_TOKEN=TOKEN,
        MECHAMENTAL_SYNC_SUBSCRIPTION_LINGER_SECONDS=LINGER,
        **FAST,
    )
    one = await launch(procs, env, tmp_path)
    two = await launch(procs, env, tmp_path)
    tenant = tenant_db
    redis = aioredis.Redis.from_url(redis_url)
    frames = "mechamental_sync_bus_frames_total"
    channels = "mechamental_sync_bus_channels"
    try:
        async with httpx.AsyncClient(timeout=20) as client:
            ws_a = await create_ws(client, one, tenant)
            ws_b = await create_ws(client, one, tenant)
            on_one = await stream_on(one, tenant, ws_a)
            on_two = await stream_on(two, tenant, ws_b)
            await on_one.next()
            await on_two.next()
            assert await metric(client, one, channels) == 1
            assert await metric(client, two, channels) == 1
            numsub = dict(
                await redis.pubsub_numsub(f"{prefix}:sync:{{{ws_a}}}", f"{prefix}:sync:{{{ws_b}}}")
            )
            assert list(numsub.values()) == [1, 1]

            # B's events, committed by process one (which has no stream of B): all reach two,
            # in order, and none of them is sent to one.
            before_one = await metric(client, one, frames)
            for n in range(30):
                await update(client, one, tenant, ws_b, n)
            got = [await on_two.next() for _ in range(30)]
            assert [e.data["data"]["changes"]["name"] for e in got] == [f"v{n}" for n in range(30)]
            assert [e.seq for e in got] == list(range(got[0].seq, got[0].seq + 30))
            assert await metric(client, one, frames) == before_one
            assert await metric(client, two, frames) >= 30

            # And the other way round.
            await update(client, two, tenant, ws_a, 100)
            assert (await on_one.next()).data["data"]["changes"] == {"name": "v100"}
            assert await metric(client, one, frames) == before_one + 1

            # B's last stream on two ends: after the linger two leaves B's channel, and
            # events of B no longer reach it; a resume then reads what it missed from the log.
            last = got[-1].id
            on_two.close()
            assert await eventually(lambda: metric(client, two, channels), lambda v: v == 0) == 0
            before_two = await metric(client, two, frames)
            for n in range(5):
                await update(client, one, tenant, ws_b, 200 + n)
            # Published after their commits: wait until Redis has had them all, then check
            # that none came to two (a resume too early would subscribe in time for some).
            assert await eventually(lambda: unpublished(database_url, ws_b), lambda n: n == 0) == 0
            assert await metric(client, two, frames) == before_two
            resumed = await stream_on(two, tenant, ws_b, last_event_id=last)
            assert (await resumed.next()).event == "sync.connected"
            missed = [await resumed.next() for _ in range(5)]
            assert [e.data["data"]["changes"]["name"] for e in missed] == [
                f"v{200 + n}" for n in range(5)
            ]
            assert await metric(client, two, frames) == before_two
            await update(client, one, tenant, ws_b, 300)
            assert (await resumed.next()).data["data"]["changes"] == {"name": "v300"}
            resumed.close()
            on_one.close()
    finally:
        await redis.aclose()


async def test_a_stream_opened_during_a_burst_misses_nothing(
    tenant_db: Tenant,
    database_url: str,
    redis_url: str,
    prefix: str,
    procs: list[ServerProcess],
    tmp_path: Path,
) -> None:
    """Streams of a workspace new to their process open while another process commits
    its events back to back: each stream sees a gap-free sequence from where it started."""
    env = server_env(
        database_url=database_url,
        data_dir=tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        MECHAMENTAL_SYNC_SUBSCRIPTION_LINGER_SECONDS="0.2",
        **FAST,
    )
    writer = await launch(procs, env, tmp_path)
    reader = await launch(procs, env, tmp_path)
    tenant = tenant_db
    async with httpx.AsyncClient(timeout=20) as client:
        ws = await create_ws(client, writer, tenant)
        stop = asyncio.Event()
        written: list[int] = []

        async def burst() -> None:
            n = 0
            while not stop.is_set():
                await update(client, writer, tenant, ws, n)
                written.append(n)
                n += 1

        task = asyncio.create_task(burst())
        try:
            for _ in range(8):  # each round: subscribe afresh (the linger has passed)
                stream = await stream_on(reader, tenant, ws)
                connected = await stream.next()
                start = int(connected.id.split("-")[0]) if connected.id else 0
                events = [await stream.next() for _ in range(5)]
                assert [e.seq for e in events] == list(range(start + 1, start + 6))
                stream.close()
                await asyncio.sleep(0.6)
        finally:
            stop.set()
            await task
    assert len(written) > 40
