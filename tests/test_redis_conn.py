"""`redis_conn`: which URLs name a cluster, their startup nodes, and the two kinds of client."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import TimeoutError as RedisTimeoutError

from mechamental.redis_conn import cluster_nodes, connect, is_cluster


def test_the_scheme_names_a_cluster() -> None:
    assert is_cluster("redis+cluster://a:7000") and is_cluster("REDISS+CLUSTER://a:7000")
    assert not is_cluster("redis://a:6379/0") and not is_cluster("rediss://a:6379/0")


def test_startup_nodes_credentials_and_tls() -> None:
    nodes, user, password, tls = cluster_nodes("rediss+cluster://me:p%40ss@a:7000,b,[::1]:7002")
    assert nodes == [("a", 7000), ("b", 6379), ("::1", 7002)]
    assert (user, password, tls) == ("me", "p@ss", True)
    assert cluster_nodes("redis+cluster://a:7000")[1:] == (None, None, False)
    with pytest.raises(ValueError):
        cluster_nodes("redis+cluster://")


async def test_one_connect_for_both_kinds() -> None:
    single = connect("redis://127.0.0.1:1/0", name="n", max_connections=3, timeout=0.5)
    assert isinstance(single, Redis)
    assert single.connection_pool.max_connections == 3
    cluster = connect("redis+cluster://127.0.0.1:1", name="n", max_connections=3, timeout=0.5)
    assert isinstance(cluster, RedisCluster)
    # Like the single-node client, a timed-out command is never sent again.
    assert RedisTimeoutError not in type(cluster).ERRORS_ALLOW_RETRY
    await single.aclose()
    await cluster.aclose()
