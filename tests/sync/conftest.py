"""Sync fixtures: the app on a real loopback server (with the stream protocol), on the
embedded bus and on Redis (own key prefix, removed afterwards), plus small helpers.

Redis is expected at 127.0.0.1:6379; without it the Redis variants skip, except under
CI=true where they fail. A test may also run on a Redis Cluster (`bus` "cluster", the
session's 3-master cluster of `tests.redis_cluster`): parametrize `bus` with `ON_CLUSTER`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import redis
import uvicorn
from fastapi import FastAPI

from mechamental.config import Settings, SyncTuning
from mechamental.db import Database
from mechamental.sync.fanout.protocol import SyncHttpToolsProtocol
from mechamental.sync.hub import SyncHub, hub_of
from tests.conftest import IN_CI, Tenant, create_tenant, make_settings
from tests.redis_cluster import RedisClusterNodes, redis_cluster  # noqa: F401 (a fixture)
from tests.sync.procs import ServerProcess
from tests.sync.sse import Stream, open_stream

REDIS_URL = os.environ.get("MECHAMENTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
T = TypeVar("T")
# Where presence tests also run on a cluster (cheap enough: the cluster is per session).
ON_CLUSTER = pytest.mark.parametrize("bus", ["embedded", "redis", "cluster"], indirect=True)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sync_settings(**kw): Settings overrides for sync tests")
    config.addinivalue_line(
        "markers", "sync_tuning(**kw): Settings.sync (SyncTuning) for sync tests"
    )


def redis_reachable(url: str = REDIS_URL) -> bool:
    """Whether a Redis server answers at `url`."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis server (skip without it, fail under CI)."""
    if not redis_reachable():
        if IN_CI:
            pytest.fail("Redis is not reachable on 127.0.0.1:6379 (required under CI=true)")
        pytest.skip("Redis not reachable")
    return REDIS_URL


def drop_prefix(url: str, prefix: str) -> None:
    """Delete every key under `prefix`."""
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["embedded", "redis"])
def bus(request: pytest.FixtureRequest) -> str:
    """Where events and presence are shared: in-process, or through Redis."""
    return str(request.param)


def bus_url(bus: str, request: pytest.FixtureRequest) -> str | None:
    """The Redis URL of the `bus` variant (None when embedded)."""
    if bus == "redis":
        return str(request.getfixturevalue("redis_url"))
    if bus == "cluster":
        cluster: RedisClusterNodes = request.getfixturevalue("redis_cluster")
        return cluster.url
    return None


@pytest.fixture
def redis_prefix(bus: str, request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A fresh key prefix on the Redis variants (cleaned up), None when embedded."""
    url = bus_url(bus, request)
    if url is None:
        yield None
        return
    prefix = f"mmtest-{uuid.uuid4().hex[:12]}"
    yield prefix
    if bus == "cluster":
        request.getfixturevalue("redis_cluster").drop_prefix(prefix)
    else:
        drop_prefix(url, prefix)


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    redis_prefix: str | None,
    request: pytest.FixtureRequest,
) -> Settings:
    """Settings for the sync tests (markers: sync_settings, sync_tuning)."""
    overrides: dict[str, Any] = {}
    marker = request.node.get_closest_marker("sync_settings")
    if marker is not None:
        overrides.update(marker.kwargs)
    if redis_prefix is not None:
        url = bus_url(request.getfixturevalue("bus"), request)
        overrides.update(redis_url=url, redis_prefix=redis_prefix)
    tuning: dict[str, Any] = {"sweep_interval_seconds": 0.2}
    marker = request.node.get_closest_marker("sync_tuning")
    if marker is not None:
        tuning.update(marker.kwargs)
    return make_settings(database_url, tmp_path, sync=SyncTuning(**tuning), **overrides)


@dataclass
class Server:
    """The app behind a real uvicorn server on a loopback port."""

    app: FastAPI
    port: int

    @property
    def hub(self) -> SyncHub:
        """The app's sync hub."""
        return hub_of(self.app.state.services)

    async def stream(
        self,
        tenant: Tenant,
        workspace_id: str,
        role: str = "owner",
        *,
        token: str | None = None,
        last_event_id: str | None = None,
        query: str = "",
        rcvbuf: int | None = None,
    ) -> Stream:
        """Open the workspace's event stream."""
        headers = {"Authorization": f"Bearer {token or tenant.tokens[role]}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        path = f"{tenant.base}/{workspace_id}/sync/stream" + (f"?{query}" if query else "")
        return await open_stream(self.port, path, headers, rcvbuf=rcvbuf)


async def serve(app: FastAPI, protocol: Any = SyncHttpToolsProtocol) -> tuple[Any, int, Any]:
    """Start uvicorn for `app` (lifespan already running) on a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, http=protocol, lifespan="off", log_config=None, timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, sock.getsockname()[1], task


@pytest.fixture
async def server(app: FastAPI) -> AsyncIterator[Server]:
    """The app on a real server with the stream protocol."""
    uv, port, task = await serve(app)
    yield Server(app, port)
    await stop_server(uv, task)


async def stop_server(uv: Any, task: asyncio.Task[None]) -> None:
    """Stop an in-process uvicorn; fail (instead of hanging) if a connection never closes."""
    uv.should_exit = True
    try:
        await asyncio.wait_for(asyncio.shield(task), 15)
    except TimeoutError:
        state = [
            (type(c).__name__, getattr(c, "sink", None), c.transport.is_closing())
            for c in uv.server_state.connections
        ]
        tasks = [t for t in asyncio.all_tasks() if not t.done()]
        task.cancel()
        raise AssertionError(f"server did not stop: connections={state} tasks={tasks}") from None


async def new_workspace(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> str:
    """Create a workspace; its id."""
    body.setdefault("name", "room")
    response = await client.post(tenant.base, json=body, headers=tenant.headers())
    assert response.status_code == 201, response.text
    workspace_id: str = response.json()["workspace_id"]
    return workspace_id


async def rename(client: httpx.AsyncClient, tenant: Tenant, workspace_id: str, name: str) -> None:
    """Change the workspace's name (one workspace.updated event)."""
    response = await client.put(
        f"{tenant.base}/{workspace_id}", json={"name": name}, headers=tenant.headers()
    )
    assert response.status_code == 200, response.text


async def presence(
    client: httpx.AsyncClient,
    tenant: Tenant,
    workspace_id: str,
    action: str,
    role: str = "owner",
    **params: str,
) -> httpx.Response:
    """POST a presence call; asserts the reference's `200 null`."""
    response = await client.post(
        f"{tenant.base}/{workspace_id}/sync/presence/{action}",
        params=params,
        headers=tenant.headers(role),
    )
    assert response.status_code == 200, response.text
    assert response.content == b"null"
    return response


# Real server processes (tests/sync/procs.py).
@pytest.fixture
async def tenant_db(database_url: str) -> AsyncIterator[Tenant]:
    """A tenant in the shared database the processes use."""
    db = Database(database_url)
    try:
        yield await create_tenant(db, "proc")
    finally:
        await db.dispose()


@pytest.fixture
def prefix(redis_url: str) -> AsyncIterator[str]:  # type: ignore[misc]
    """A Redis key prefix for this test's processes (removed afterwards)."""
    value = f"mmtest-{uuid.uuid4().hex[:12]}"
    yield value
    drop_prefix(redis_url, value)


@pytest.fixture
async def procs(tmp_path: Path) -> AsyncIterator[list[ServerProcess]]:
    """Processes started by the test; killed at the end."""
    started: list[ServerProcess] = []
    yield started
    for proc in started:
        await proc.kill()
