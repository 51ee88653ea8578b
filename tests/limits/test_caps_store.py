"""Stream caps on one Redis and on a 3-master cluster, two `StreamCaps` as two processes:
counted across both, and a process that stops renewing is reaped (every key the scripts
touch passed in KEYS, one `{caps}` slot). Time is a variable the test moves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from mechamental.errors import TooManyStreams
from mechamental.ratelimit.buckets import RedisBuckets
from mechamental.ratelimit.policy import Kind, Policy, Scope
from mechamental.ratelimit.streams import StreamCaps
from mechamental.redis_conn import AnyRedis, connect
from tests.redis_cluster import RedisClusterNodes, redis_cluster  # noqa: F401 (a fixture)
from tests.sync.conftest import drop_prefix, redis_url  # noqa: F401 (a fixture)

LEASE = 1.0


class Clock:
    """The caps' time."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["redis", "cluster"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[tuple[AnyRedis, str]]:
    """A client and a fresh prefix, on one Redis or the cluster."""
    cluster: RedisClusterNodes | None = None
    if request.param == "cluster":
        cluster = request.getfixturevalue("redis_cluster")
        url = cluster.url
    else:
        url = request.getfixturevalue("redis_url")
    prefix = f"mmtest-{uuid.uuid4().hex[:12]}"
    redis = connect(url, name="caps", max_connections=4, timeout=2)
    yield redis, prefix
    await redis.aclose()
    if cluster is not None:
        cluster.drop_prefix(prefix)
    else:
        drop_prefix(url, prefix)


def caps(redis: AnyRedis, prefix: str, process_id: str, clock: Callable[[], float]) -> StreamCaps:
    return StreamCaps(
        per_user=2,
        per_org=100,
        retry_after=1,
        clock=clock,
        redis=redis,
        prefix=prefix,
        process_id=process_id,
        lease=LEASE,
        beat=0.1,
    )


async def test_caps_count_across_processes_and_a_dead_one_is_reaped(
    client: tuple[AnyRedis, str],
) -> None:
    redis, prefix = client
    clock = Clock()
    a, b = caps(redis, prefix, "a", clock), caps(redis, prefix, "b", clock)
    for process in (a, b):
        await process.sync()
    users = [f"user-{i}" for i in range(30)]  # many count keys: reaped in one batch each
    for user in users:
        for _ in range(2):
            await a.acquire("org", user, resuming=False)
    await a.sync()
    with pytest.raises(TooManyStreams):
        await b.acquire("org", users[0], resuming=False)
    clock.now += 2 * LEASE  # a stops renewing: b's beat reaps it
    await b.sync()
    held_key = f"{prefix}:streams:{{caps}}:held:a"
    assert not await redis.exists(held_key)
    for user in users:
        assert not await redis.hexists(f"{prefix}:streams:{{caps}}:u:org:{user}", "a")
    await b.acquire("org", users[0], resuming=False)
    await b.acquire("org", users[0], resuming=False)
    with pytest.raises(TooManyStreams):
        await b.acquire("org", users[0], resuming=False)


async def test_token_buckets(client: tuple[AnyRedis, str]) -> None:
    redis, prefix = client
    buckets = RedisBuckets(redis)
    policy = Policy.make(Kind.REST, Scope.CREDENTIAL, rate=0.001, burst=2)
    base = f"{prefix}:rl:{{org}}:rest"
    taken = [
        await buckets.take(f"{base}:c:x", f"{base}:o", policy, policy, 100.0) for _ in range(3)
    ]
    assert [allowed for allowed, _, _ in taken] == [True, True, False]
