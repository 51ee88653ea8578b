"""Events between real server processes on a 3-master Redis Cluster: sharded pub/sub by
interest, and a master restarted while events flow (streams resume, nothing is lost)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.conftest import Tenant
from tests.redis_cluster import RedisClusterNodes
from tests.sync.procs import ServerProcess, create_ws, launch, stream_on
from tests.sync.sse import Stream
from tests.sync.test_cluster import assert_no_cluster_errors, cluster_env, cluster_prefix
from tests.sync.test_interest import TOKEN, metric, update

__all__ = ["cluster_prefix"]  # the fixture, used by name
pytestmark = [
    pytest.mark.timeout(600),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]
FRAMES = "mechamental_sync_bus_frames_total"


async def updates_seen(stream: Stream, count: int, within: float = 30) -> list[str]:
    """The names of the next `count` workspace.updated events (other events skipped)."""
    names: list[str] = []
    while len(names) < count:
        event = await stream.next(within=within)
        if event.event == "workspace.updated":
            names.append(event.data["data"]["changes"]["name"])
    return names


async def test_events_cross_processes_by_interest_and_survive_a_master_restart(
    tenant_db: Tenant,
    database_url: str,
    redis_cluster: RedisClusterNodes,
    cluster_prefix: str,
    procs: list[ServerProcess],
    tmp_path: Path,
) -> None:
    env = cluster_env(database_url, tmp_path, redis_cluster, cluster_prefix)
    env["MECHAMENTAL_METRICS_TOKEN"] = TOKEN
    writer = await launch(procs, env, tmp_path)
    reader = await launch(procs, env, tmp_path)
    tenant = tenant_db
    async with httpx.AsyncClient(timeout=20) as client:
        # Workspaces until every master serves at least one of their channels.
        ids: list[str] = []
        masters: dict[int, str] = {}
        while len(masters) < 3:
            ws = await create_ws(client, writer, tenant)
            ids.append(ws)
            masters.setdefault(redis_cluster.serving(f"{{{ws}}}"), ws)
        streams = {ws: await stream_on(reader, tenant, ws) for ws in ids}
        for stream in streams.values():
            assert (await stream.next()).event == "sync.connected"

        # Every workspace's events reach the reader, in order; the writer, with no
        # stream, receives none of them.
        for n in range(3):
            for ws in ids:
                await update(client, writer, tenant, ws, n)
        for ws, stream in streams.items():
            assert await updates_seen(stream, 3) == ["v0", "v1", "v2"], ws
        assert await metric(client, writer, FRAMES) == 0
        assert await metric(client, reader, FRAMES) >= 3 * len(ids)

        # The master of one workspace restarts (empty) while updates go on: every stream
        # still gets every update once, in order (missed frames are read from the log).
        restarted = masters[0]
        sent: dict[str, list[str]] = {ws: [] for ws in ids}
        stop = asyncio.Event()

        async def keep_writing() -> None:
            n = 100
            while not stop.is_set():
                for ws in ids:
                    await update(client, writer, tenant, ws, n)
                    sent[ws].append(f"v{n}")
                n += 1
                await asyncio.sleep(0.05)

        task = asyncio.create_task(keep_writing())
        try:
            await asyncio.sleep(0.5)
            await asyncio.to_thread(redis_cluster.restart, 0)
            await asyncio.sleep(1.0)
        finally:
            stop.set()
            await task
        assert len(sent[restarted]) > 5
        for ws in ids:
            await update(client, writer, tenant, ws, 999)
            sent[ws].append("v999")
        for ws, stream in streams.items():
            assert await updates_seen(stream, len(sent[ws])) == sent[ws], ws
        for stream in streams.values():
            stream.close()
    assert_no_cluster_errors(procs)


async def test_a_stream_opened_before_the_process_used_the_cluster(
    tenant_db: Tenant,
    database_url: str,
    redis_cluster: RedisClusterNodes,
    cluster_prefix: str,
    procs: list[ServerProcess],
    tmp_path: Path,
) -> None:
    """The first stream of a fresh process can come before its cluster client has learnt the
    slots (nothing else has used Redis yet: here its presence loops wait 60 s): its channel
    is subscribed all the same, and events from the other process arrive."""
    env = cluster_env(database_url, tmp_path, redis_cluster, cluster_prefix)
    writer = await launch(procs, env, tmp_path)
    tenant = tenant_db
    async with httpx.AsyncClient(timeout=20) as client:
        ws = await create_ws(client, writer, tenant)
        cold = {**env, "MECHAMENTAL_SYNC_SWEEP_INTERVAL_SECONDS": "60"}
        reader = await launch(procs, cold, tmp_path)
        stream = await stream_on(reader, tenant, ws)
        assert (await stream.next()).event == "sync.connected"
        for n in range(3):
            await update(client, writer, tenant, ws, n)
        assert await updates_seen(stream, 3, within=20) == ["v0", "v1", "v2"]
        stream.close()
    assert_no_cluster_errors(procs)
