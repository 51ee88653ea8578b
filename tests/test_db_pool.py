"""A cold `serve` process on PostgreSQL under a burst of 2,000 stream opens at once.

Before the pools were created once and bounded, every request that arrived before the
first `create_pool` returned made a pool of its own, and PostgreSQL ran out of
connections (`TooManyConnectionsError` -> 500). Now every open must get `sync.connected`
(requests wait for a connection) while the process never holds more connections than
`DB_MAX_CONNECTIONS`, as PostgreSQL itself counts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from mechamental.db import Database
from mechamental.migrations import upgrade
from mechamental.workspaces import service
from tests.conftest import PG_ADMIN_DSN, create_tenant
from tests.sync.procs import ServerProcess, server_env

STREAMS = 2000
MAX_CONNECTIONS = 8
WORKSPACES = 10


@contextlib.asynccontextmanager
async def fresh_database(postgres_database_url: str) -> AsyncIterator[tuple[str, str]]:
    """A migrated database of its own, so pg_stat_activity for it counts only the server."""
    name = f"mm_burst_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = postgres_database_url.rsplit("/", 1)[0] + f"/{name}"
        await asyncio.to_thread(upgrade, url)
        yield name, url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def seed(url: str) -> tuple[str, str, list[str]]:
    """An org, an owner token and a few workspaces, written without the server."""
    db = Database(url)
    try:
        tenant = await create_tenant(db, "burst")
        ids = []
        async with db.transaction() as conn:
            for i in range(WORKSPACES):
                row = await service.create_workspace(
                    conn,
                    org_id=tenant.org_id,
                    owner_id="owner-user",
                    values={"name": f"w{i}", "tags": [], "description": None},
                    region="us-east-1",
                    bucket_prefix="mm",
                )
                ids.append(str(row["workspace_id"]))
    finally:
        await db.dispose()
    return tenant.org_id, tenant.tokens["owner"], ids


async def open_until_connected(port: int, path: str, token: str) -> asyncio.StreamWriter:
    """Open one stream on a raw socket and read until its `sync.connected` frame."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    if status != b"200":
        body = await reader.read(4096)
        raise AssertionError(f"status {status.decode()}: {body[-400:]!r}")
    buffer = b""
    while b"event: sync.connected" not in buffer:
        chunk = await reader.read(65536)
        assert chunk, "stream closed before sync.connected"
        buffer += chunk
    data_line = buffer.split(b"event: sync.connected\n", 1)[1].split(b"\n", 1)[0]
    assert json.loads(data_line.removeprefix(b"data: "))["type"] == "sync.connected"
    return writer


async def watch_connections(name: str, peak: list[int], stop: asyncio.Event) -> None:
    """Sample PostgreSQL's own count of backends on the database until `stop`."""
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        while not stop.is_set():
            count = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", name
            )
            peak[0] = max(peak[0], int(count))
            await asyncio.sleep(0.002)
    finally:
        await admin.close()


@pytest.mark.timeout(300)
async def test_a_burst_of_stream_opens_on_a_cold_process_stays_within_the_budget(
    postgres_database_url: str, tmp_path: Path
) -> None:
    async with fresh_database(postgres_database_url) as (name, url):
        org_id, token, workspace_ids = await seed(url)
        env = server_env(
            database_url=url,
            data_dir=tmp_path,
            redis_url=None,
            prefix="unused",
            MECHAMENTAL_DB_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
            MECHAMENTAL_DB_WAIT_SECONDS="120",  # an upper bound for a slow machine
            MECHAMENTAL_RUN_WORKER="true",  # the worker's connections count too
        )
        server = ServerProcess(env=env, log=tmp_path / "server.log")
        peak = [0]
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch_connections(name, peak, stop))
        writers: list[asyncio.StreamWriter] = []
        try:
            await server.start()
            paths = [
                f"/v1/orgs/{org_id}/workspaces/{workspace_ids[i % WORKSPACES]}/sync/stream"
                for i in range(STREAMS)
            ]
            results = await asyncio.wait_for(
                asyncio.gather(
                    *(open_until_connected(server.port, p, token) for p in paths),
                    return_exceptions=True,
                ),
                timeout=240,
            )
            writers = [r for r in results if isinstance(r, asyncio.StreamWriter)]
            failures = [r for r in results if not isinstance(r, asyncio.StreamWriter)]
            if failures:
                why = [
                    line
                    for line in (tmp_path / "server.log").read_text().splitlines()
                    if "unavailable:" in line
                ]
                raise AssertionError(f"{len(failures)} failed, e.g. {failures[:2]!r}; {why}")
            assert len(writers) == STREAMS
        finally:
            stop.set()
            await watcher
            for writer in writers:
                writer.transport.abort()
            await server.kill()
        log_text = (tmp_path / "server.log").read_text()
        assert "Traceback" not in log_text, log_text[-3000:]
        assert 0 < peak[0] <= MAX_CONNECTIONS, peak[0]
