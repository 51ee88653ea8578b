"""Real server processes: shared events and presence over Redis, SIGKILL, SIGTERM, Redis restart."""

from __future__ import annotations

import asyncio
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import IN_CI, Tenant
from tests.helpers import assert_envelope, eventually
from tests.sync.procs import (
    FAST,
    RedisServer,
    ServerProcess,
    create_ws,
    launch,
    server_env,
    stream_on,
)

# Each test starts real processes: on a loaded machine that alone may take minutes.
pytestmark = pytest.mark.timeout(900)


async def test_two_processes_share_events_and_presence(
    tenant_db: Tenant,
    database_url: str,
    redis_url: str,
    prefix: str,
    procs: list[ServerProcess],
    tmp_path: Path,
) -> None:
    env = server_env(
        database_url=database_url, data_dir=tmp_path, redis_url=redis_url, prefix=prefix, **FAST
    )
    a = await launch(procs, env, tmp_path)
    b = await launch(procs, env, tmp_path)
    tenant = tenant_db
    async with httpx.AsyncClient(timeout=20) as client:
        ws_id = await create_ws(client, a, tenant)
        on_b = await stream_on(b, tenant, ws_id, "member")
        await on_b.next()
        await client.put(
            f"{a.url}{tenant.base}/{ws_id}", json={"name": "from A"}, headers=tenant.headers()
        )
        updated = await on_b.next()
        assert updated.event == "workspace.updated"
        assert updated.data["data"]["changes"] == {"name": "from A"}

        # Presence is one view: a stream held on A, a join through B, seen from both.
        on_a = await stream_on(a, tenant, ws_id, "owner")
        await on_a.next()
        joined = await client.post(
            f"{b.url}{tenant.base}/{ws_id}/sync/presence/join", headers=tenant.headers("owner")
        )
        assert joined.status_code == 200 and joined.content == b"null"
        assert (await on_b.next()).event == "presence.joined"
        assert (await on_a.next()).event == "presence.joined"

        async def listed() -> list[tuple[str, int]]:
            response = await client.get(
                f"{b.url}{tenant.base}/{ws_id}/sync/presence", headers=tenant.headers()
            )
            return [(m["user_id"], m["connections"]) for m in response.json()["members"]]

        assert await eventually(listed, lambda m: m == [(tenant.users["owner"], 1)])

        # A dies holding the owner's only stream: B announces the leave.
        await a.kill()
        left = await on_b.next(within=30)
        assert left.event == "presence.left" and left.data["actor_id"] == tenant.users["owner"]
        assert left.data["data"]["reason"] == "expired"
        assert await listed() == []
        on_b.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_event_committed_before_a_sigkill_arrives_after_restart(
    tenant_db: Tenant,
    database_url: str,
    redis_url: str,
    prefix: str,
    procs: list[ServerProcess],
    tmp_path: Path,
) -> None:
    base = server_env(
        database_url=database_url,
        data_dir=tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        MECHAMENTAL_SYNC_ORPHAN_AFTER_SECONDS="3600",
    )
    # A commits but never publishes: as if it died between the commit and the publish.
    a = await launch(procs, {**base, "MECHAMENTAL_SYNC_PUBLISH": "false"}, tmp_path)
    b = await launch(procs, base, tmp_path)
    tenant = tenant_db
    async with httpx.AsyncClient(timeout=20) as client:
        ws_id = await create_ws(client, b, tenant)
        on_b = await stream_on(b, tenant, ws_id)
        head = await on_b.next()
        response = await client.put(
            f"{a.url}{tenant.base}/{ws_id}", json={"name": "committed"}, headers=tenant.headers()
        )
        assert response.status_code == 200
        a.signal(signal.SIGKILL)
        assert await a.wait() == -signal.SIGKILL
        with pytest.raises(TimeoutError):
            await on_b.next(within=1.5)  # nobody has published it yet
        await launch(procs, base, tmp_path)  # the next start publishes what was pending
        event = await on_b.next(within=30)
        assert event.seq == head.seq + 1 and event.data["data"]["changes"] == {"name": "committed"}
        on_b.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sigterm_ends_every_stream_within_two_seconds(
    tenant_db: Tenant, database_url: str, procs: list[ServerProcess], tmp_path: Path
) -> None:
    env = server_env(database_url=database_url, data_dir=tmp_path, redis_url=None, prefix="mm")
    proc = await launch(procs, env, tmp_path)
    tenant = tenant_db
    async with httpx.AsyncClient(timeout=20) as client:
        ws_id = await create_ws(client, proc, tenant)
    streams = [await stream_on(proc, tenant, ws_id) for _ in range(20)]
    for stream in streams:
        await stream.next()
    started = time.monotonic()
    proc.signal(signal.SIGTERM)
    await asyncio.gather(*(stream.wait_end(within=5) for stream in streams))
    assert time.monotonic() - started < 2.0
    # uvicorn finishes its graceful shutdown, then re-raises the signal it caught.
    assert await proc.wait() in (0, -signal.SIGTERM)
    assert "Traceback" not in (tmp_path / "server-0.log").read_text()


def redis_clients_per_process(url: str) -> dict[str, int]:
    """Connections each server process holds to Redis (by client name)."""
    per_process: dict[str, int] = {}
    client = redis.Redis.from_url(url)
    try:
        for entry in client.client_list():
            if entry["name"].startswith("mm:"):
                per_process[entry["name"]] = per_process.get(entry["name"], 0) + 1
    finally:
        client.close()
    return per_process


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("outage", ["restart", "pause"])
async def test_bounded_redis_connections_and_a_redis_restart(
    tenant_db: Tenant, database_url: str, procs: list[ServerProcess], tmp_path: Path, outage: str
) -> None:
    """A Redis outage ends no stream; presence 503s meanwhile, then converges without churn.

    `restart`: Redis comes back empty. `pause` (SIGSTOP, SIGCONT): it comes back with its
    state, after every process's lease ran out, so nobody may reap anybody.
    """
    if shutil.which("redis-server") is None:
        if IN_CI:
            pytest.fail("redis-server is required under CI=true")
        pytest.skip("redis-server not installed")
    server = RedisServer(tmp_path)
    await server.start()
    try:
        env = server_env(
            database_url=database_url,
            data_dir=tmp_path,
            redis_url=server.url,
            prefix="mm",
            MECHAMENTAL_SYNC_REDIS_MAX_CONNECTIONS="4",
            MECHAMENTAL_SYNC_REDIS_SOCKET_TIMEOUT_SECONDS="1",
            **FAST,
        )
        lease = float(FAST["MECHAMENTAL_SYNC_PROCESS_LEASE_SECONDS"])
        a = await launch(procs, env, tmp_path)
        b = await launch(procs, env, tmp_path)
        tenant = tenant_db
        member, viewer = tenant.users["member"], tenant.users["viewer"]
        async with httpx.AsyncClient(timeout=20) as client:
            ws_id = await create_ws(client, a, tenant)
            base = f"{tenant.base}/{ws_id}/sync/presence"
            watcher = await stream_on(a, tenant, ws_id, "owner")  # the owner never joins
            streams = [await stream_on(b, tenant, ws_id, "member") for _ in range(40)]
            for stream in [watcher, *streams]:
                await stream.next()
            joined = await client.post(f"{b.url}{base}/join", headers=tenant.headers("member"))
            assert joined.status_code == 200
            # The viewer is present by TTL alone: no stream holds them.
            joined = await client.post(f"{a.url}{base}/join", headers=tenant.headers("viewer"))
            assert joined.status_code == 200
            for stream in [watcher, *streams]:
                events = await stream.take(2)
                assert [(e.event, e.data["actor_id"]) for e in events] == [
                    ("presence.joined", member),
                    ("presence.joined", viewer),
                ]
            per_process = redis_clients_per_process(server.url)
            assert len(per_process) == 2 and max(per_process.values()) <= 5, per_process

            assert server.proc is not None
            if outage == "restart":
                await server.stop()  # Redis dies, and comes back empty
            else:
                server.proc.send_signal(signal.SIGSTOP)
            # A paused Redis runs the timed-out steps when it resumes: only a no-op there.
            actions = ["join"]
            if outage == "restart":
                actions += ["leave", "viewing?resource_type=doc&resource_id=1"]
            for proc in (a, b):
                for action in actions:
                    response = await client.post(
                        f"{proc.url}{base}/{action}", headers=tenant.headers("member")
                    )
                    assert_envelope(response, 503, "SERVICE_UNAVAILABLE", {})
                    assert int(response.headers["retry-after"]) > 0
                listing = await client.get(f"{proc.url}{base}", headers=tenant.headers())
                assert_envelope(listing, 503, "SERVICE_UNAVAILABLE", {})
                assert int(listing.headers["retry-after"]) > 0
            # A stream still opens (its snapshot has the members, their counts unknown).
            late = await stream_on(b, tenant, ws_id, "member")
            snapshot = (await late.next()).data["data"]["presence"]["members"]
            assert [(m["user_id"], m["connections"]) for m in snapshot] == [
                (member, 0),
                (viewer, 0),
            ]
            streams.append(late)
            response = await client.put(
                f"{a.url}{tenant.base}/{ws_id}",
                json={"name": "during outage"},
                headers=tenant.headers(),
            )
            assert response.status_code == 200  # committed: it must not be lost
            # Outlast every lease and grace, so recovery cannot lean on what Redis keeps.
            await asyncio.sleep(3 * lease)
            if outage == "restart":
                await server.start()
            else:
                server.proc.send_signal(signal.SIGCONT)

            async def listed() -> list[tuple[str, int]]:
                response = await client.get(f"{a.url}{base}", headers=tenant.headers())
                if response.status_code != 200:
                    return [("status", response.status_code)]
                return [(m["user_id"], m["connections"]) for m in response.json()["members"]]

            # Presence converges to who holds streams: the member's 41 streams on B; the
            # viewer's TTL is kept by a paused Redis, lost with a restarted one.
            expected = [(member, 41)] if outage == "restart" else [(member, 41), (viewer, 0)]
            assert await eventually(listed, lambda m: m == expected, within=30)
            await asyncio.sleep(2 * lease)  # any churn would be in the log before the next write
            assert await listed() == expected
            response = await client.put(
                f"{b.url}{tenant.base}/{ws_id}", json={"name": "after"}, headers=tenant.headers()
            )
            assert response.status_code == 200
            # Every stream stayed open and saw the same events, in order, once: the write
            # made during the outage, (the viewer expiring,) the next write; nothing else
            # (no left/joined for the member whose streams held their presence).
            owner = tenant.users["owner"]
            expiry = [("presence.left", viewer)] if outage == "restart" else []
            for stream in [watcher, *streams]:
                events = await stream.until("workspace.updated", within=30)
                events += await stream.until("workspace.updated", within=30)
                assert [(e.event, e.data["actor_id"]) for e in events] == [
                    ("workspace.updated", owner),
                    *expiry,
                    ("workspace.updated", owner),
                ]
                assert events[0].data["data"]["changes"] == {"name": "during outage"}
                assert [e.seq for e in events] == list(range(events[0].seq, events[-1].seq + 1))
                if expiry:
                    assert events[1].data["data"]["reason"] == "expired"
            per_process = redis_clients_per_process(server.url)
            assert len(per_process) == 2 and max(per_process.values()) <= 5, per_process
            for stream in [watcher, *streams]:
                stream.close()
    finally:
        await server.stop()
