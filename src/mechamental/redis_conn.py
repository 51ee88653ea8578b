"""Redis clients: one node, or a Redis Cluster named by its URL scheme.

`MECHAMENTAL_REDIS_URL` names a single server as `redis://` / `rediss://` (redis-py's own URL
syntax) and a cluster as `redis+cluster://host:port[,host2:port2…]` (or `rediss+cluster://`
for TLS): the listed nodes are only where the client starts, it learns the rest from the
cluster. Every caller gets its client from `connect`, so both kinds have the same timeouts,
pool bounds and retry rule; code that talks to Redis takes an `AnyRedis` and keeps every
script's keys in one slot (see `AGENTS.md`: each workspace's keys carry `{workspace_id}`).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

AnyRedis = Redis | RedisCluster
CLUSTER_SCHEMES = {"redis+cluster": False, "rediss+cluster": True}  # scheme -> TLS
DEFAULT_PORT = 6379


class _Cluster(RedisCluster):
    """A cluster client that, like the single-node one, never sends a timed-out command
    again: it may have run (the callers' `unsure` handling knows), and a hung node would
    cost a caller twice its timeout (the rate limiter promises one)."""

    # A shorter tuple than the base class's (typed with exactly its four errors).
    ERRORS_ALLOW_RETRY = tuple(  # type: ignore[assignment]
        error for error in RedisCluster.ERRORS_ALLOW_RETRY if error is not RedisTimeoutError
    )


def is_cluster(url: str) -> bool:
    """Whether `url` names a Redis Cluster (`redis+cluster://`, `rediss+cluster://`)."""
    return url.split("://", 1)[0].lower() in CLUSTER_SCHEMES


def cluster_nodes(url: str) -> tuple[list[tuple[str, int]], str | None, str | None, bool]:
    """The startup nodes, username, password and TLS flag of a cluster URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in CLUSTER_SCHEMES:
        raise ValueError(f"not a Redis Cluster URL: {scheme}://")
    credentials, _, hosts = parts.netloc.rpartition("@")
    username: str | None = None
    password: str | None = None
    if credentials:
        user, sep, secret = credentials.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if sep else None
    nodes: list[tuple[str, int]] = []
    for item in hosts.split(","):
        item = item.strip()
        if not item:
            continue
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = item.partition(":")
        nodes.append((host, int(port) if port else DEFAULT_PORT))
    if not nodes:
        raise ValueError("a Redis Cluster URL needs at least one host:port")
    return nodes, username, password, CLUSTER_SCHEMES[scheme]


def connect(
    url: str,
    *,
    name: str,
    max_connections: int,
    timeout: float,
    health_check_interval: float = 0,
) -> AnyRedis:
    """A client for `url`: at most `max_connections` (per node on a cluster), `timeout` for
    connecting, each reply and (single node) waiting for a pooled connection."""
    # After a Redis restart every idle pooled connection is stale and fails once: one
    # immediate retry on a fresh connection hides that (timeouts are never retried).
    retry = Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))
    if not is_cluster(url):
        pool = BlockingConnectionPool.from_url(
            url,
            client_name=name,
            retry=retry,
            max_connections=max_connections,
            timeout=timeout,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            health_check_interval=health_check_interval,
        )
        return Redis(connection_pool=pool)
    nodes, username, password, tls = cluster_nodes(url)
    # The cluster client retries a failed command once after refreshing its view of the
    # topology (a lost connection, a master that restarted, CLUSTERDOWN); a cluster still
    # down then is a Redis error like any other to the callers.
    return _Cluster(
        startup_nodes=[ClusterNode(host, port) for host, port in nodes],
        username=username,
        password=password,
        ssl=tls,
        client_name=name,
        retry=retry,
        max_connections=max_connections,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=health_check_interval,
    )
