"""The Redis presence store itself, on one Redis and on a 3-master cluster: the due-hint
protocol (`presence/scripts.py`), reaping a dead process member by member, and one epoch
per master. Time is passed in, so deadlines are exact."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from mechamental.redis_conn import AnyRedis, connect
from mechamental.sync.presence.redis_store import RedisPresenceStore
from tests.redis_cluster import RedisClusterNodes
from tests.sync.conftest import drop_prefix

Make = Callable[[str], RedisPresenceStore]
GRACE, LEASE = 5.0, 1.0


@pytest.fixture(params=["redis", "cluster"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """Stores (one per process id) on one Redis or the cluster, under a fresh prefix."""
    cluster: RedisClusterNodes | None = None
    if request.param == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        url = cluster.url
    else:
        url = request.getfixturevalue("redis_url")
    prefix = f"mmtest-{uuid.uuid4().hex[:12]}"
    clients: list[AnyRedis] = []

    def store(process_id: str) -> RedisPresenceStore:
        client = connect(url, name=process_id, max_connections=4, timeout=2)
        clients.append(client)
        return RedisPresenceStore(client, prefix=prefix, process_id=process_id)

    yield store
    for client in clients:
        await client.aclose()
    if cluster is not None:
        cluster.drop_prefix(prefix)
    else:
        drop_prefix(url, prefix)


def workspace() -> str:
    return f"ws-{uuid.uuid4().hex[:10]}"


async def test_hints_settle_each_member_at_its_deadline(make: Make) -> None:
    store = make("p1")
    keys = [(workspace(), "u") for _ in range(40)]  # spread over shards and slots
    for key in keys:
        await store.touch(key, org_id="o", now=100, ttl=10, viewing=None)
    assert await store.due(now=109.9, limit=500) == []
    assert sorted(await store.due(now=110, limit=500)) == sorted(keys)
    for key in keys:
        desired, changed = await store.settle(key, now=110)
        assert changed and not desired.present and desired.reason == "expired"
    assert await store.due(now=1e9, limit=500) == []  # settled: their entries went


async def test_a_later_deadline_keeps_the_early_hint_until_a_sweep_moves_it(make: Make) -> None:
    store = make("p1")
    key = (workspace(), "u")
    await store.touch(key, org_id="o", now=100, ttl=10, viewing=None)
    await store.touch(key, org_id="o", now=105, ttl=10, viewing=None)  # until 115
    assert await store.due(now=110, limit=10) == [key]  # the early hint: one extra settle
    desired, changed = await store.settle(key, now=110)
    assert desired.present and not changed
    assert await store.due(now=114.9, limit=10) == []  # moved to the real deadline
    assert await store.due(now=115, limit=10) == [key]


async def test_streams_hold_a_member_and_the_last_one_starts_the_grace(make: Make) -> None:
    store = make("p1")
    key = (workspace(), "u")
    await store.touch(key, org_id="o", now=100, ttl=10, viewing=None)
    await store.set_streams(key, org_id="o", count=1, now=101, grace=GRACE)
    assert await store.due(now=110, limit=10) == [key]  # early: the stream holds them
    desired, changed = await store.settle(key, now=110)
    assert desired.present and not changed
    assert await store.due(now=1e9, limit=10) == []  # no deadline: no hint
    assert await store.connections(key[0]) == {"u": 1}
    await store.set_streams(key, org_id="o", count=0, now=200, grace=GRACE)
    assert await store.due(now=204.9, limit=10) == []
    assert await store.due(now=205, limit=10) == [key]
    assert (await store.settle(key, now=205))[1]


async def test_a_hint_written_during_a_sweep_is_never_dropped(make: Make) -> None:
    """A sweep read the entry and settled the member (no deadline: it had a stream); before
    its compare-and-set, a step gave the member a deadline and wrote its hint. The stale
    compare-and-set must leave the entry, or the member would never expire."""
    store, other = make("p1"), make("p2")
    key = (workspace(), "u")
    await store.touch(key, org_id="o", now=100, ttl=10, viewing=None)
    await store.set_streams(key, org_id="o", count=1, now=100, grace=GRACE)
    assert await store.due(now=110, limit=10) == [key]  # the sweep reads the early hint
    generation = store._gens[key]
    await store.set_streams(key, org_id="o", count=0, now=120, grace=GRACE)  # until 125
    member, shard = f"{key[0]}|{key[1]}", store._shard(key[0])
    assert await store._run("resched", shard, [member, generation, ""]) == 0  # left alone
    assert await other.due(now=109, limit=10) == []
    assert await other.due(now=110, limit=10) == [key]  # early, and settling moves it
    assert not (await other.settle(key, now=110))[1]
    assert await other.due(now=124.9, limit=10) == []
    assert await other.due(now=125, limit=10) == [key]
    # Unchanged since the read, the compare-and-set applies.
    generation = other._gens[key]
    assert await other._run("resched", shard, [member, generation, ""]) == 1
    assert await other.due(now=1e9, limit=10) == []


async def test_a_dead_process_is_reaped_member_by_member(make: Make) -> None:
    dead, live = make("dead"), make("live")
    assert await dead.maintain(now=0, lease=LEASE, grace=GRACE)  # a fresh store: "lost"
    assert not await live.maintain(now=0, lease=LEASE, grace=GRACE)
    keys = [(workspace(), f"u{i}") for i in range(12)]
    for key in keys:
        await dead.touch(key, org_id="o", now=0, ttl=100, viewing=None)
        await dead.set_streams(key, org_id="o", count=2, now=0, grace=GRACE)
    await live.set_streams(keys[0], org_id="o", count=1, now=0, grace=GRACE)
    # Not before the live one has reached the store for a whole lease.
    assert not await live.maintain(now=0.5, lease=LEASE, grace=GRACE)
    assert await live.connections(keys[1][0]) == {"u1": 2}
    assert not await live.maintain(now=2, lease=LEASE, grace=GRACE)
    assert await live.connections(keys[0][0]) == {"u0": 1}
    for key in keys[1:]:
        assert await live.connections(key[0]) == {}
    # Present until the dead one's last renewal plus the grace.
    assert await live.due(now=4.9, limit=50) == []
    assert sorted(await live.due(now=5, limit=50)) == sorted(keys[1:])
    # The dead one, back after all, finds its lease gone.
    assert await dead.maintain(now=2.1, lease=LEASE, grace=GRACE)


async def retry(step: Callable[[], Awaitable[Any]], within: float = 30) -> Any:
    """`step` once the store answers again."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await step()
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_a_restart_of_any_one_master_is_seen(
    redis_cluster: RedisClusterNodes, redis_url: str
) -> None:
    """Each master has an epoch: one that holds no lease coming back empty is a loss too."""
    prefix = f"mmtest-{uuid.uuid4().hex[:12]}"
    client = connect(redis_cluster.url, name="epochs", max_connections=4, timeout=2)
    stores = [RedisPresenceStore(client, prefix=prefix, process_id=p) for p in ("a", "b")]
    try:
        for store in stores:
            await store.maintain(now=0, lease=100, grace=GRACE)
        for store in stores:
            assert not await store.maintain(now=1, lease=100, grace=GRACE)
        procs = redis_cluster.serving(f"{prefix}:presence:{{procs}}")
        other = next(i for i in range(len(redis_cluster.ports)) if i != procs)
        redis_cluster.restart(other)
        for store in stores:
            assert await retry(lambda s=store: s.maintain(now=2, lease=100, grace=GRACE))
        for store in stores:
            assert not await store.maintain(now=3, lease=100, grace=GRACE)
    finally:
        await client.aclose()
        redis_cluster.drop_prefix(prefix)


async def test_recovery_seeding_rewrites_a_lost_hint(make: Make) -> None:
    """A master that held the due shard came back empty, the member's own did not: seeding
    every announced member (what recovery does) writes the hint again."""
    store = make("p1")
    key = (workspace(), "u")
    await store.touch(key, org_id="o", now=100, ttl=10, viewing=None)
    await store._redis.delete(*store._shard(key[0]))  # the shard's keys, lost
    assert await store.due(now=110, limit=10) == []
    await store.seed(key, org_id="o", viewing=None, version=1, until=105)
    assert await store.due(now=110, limit=10) == [key]
    desired, changed = await store.settle(key, now=110)
    assert changed and not desired.present
