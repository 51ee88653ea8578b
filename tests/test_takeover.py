"""Under `serve`, event streams are written straight to the transport, never through ASGI.

The takeover reaches into uvicorn internals (pyproject bounds uvicorn to the versions
tested). If an upgrade broke it, streams would still work through the slow ASGI
fallback, silently: this test fails instead. Each stream's request log line records
how it was written (`stream_write`), which is what it reads.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from mechamental.db import Database
from tests.conftest import Tenant, create_tenant
from tests.helpers import eventually
from tests.sync.procs import ServerProcess, lone_server
from tests.sync.sse import open_stream


@pytest.fixture
async def tenant(database_url: str) -> AsyncIterator[Tenant]:
    db = Database(database_url)
    try:
        yield await create_tenant(db, "takeover")
    finally:
        await db.dispose()


@pytest.fixture
async def server(database_url: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    async with lone_server(
        database_url,
        tmp_path,
        MECHAMENTAL_LOG_LEVEL="INFO",
        MECHAMENTAL_LOG_FORMAT="json",
    ) as proc:
        yield proc


def _stream_lines(log: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [
        line
        for line in lines
        if line.get("msg") == "request" and str(line.get("route", "")).endswith("/sync/stream")
    ]


async def test_streams_are_taken_over_under_serve(server: ServerProcess, tenant: Tenant) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        created = await client.post(tenant.base, json={"name": "w"}, headers=tenant.headers())
        assert created.status_code == 201
        ws_id = created.json()["workspace_id"]
        path = f"{tenant.base}/{ws_id}/sync/stream"
        streams = [await open_stream(server.port, path, tenant.headers()) for _ in range(3)]
        for stream in streams:
            assert stream.status == 200
            assert (await stream.next()).event == "sync.connected"
        # Direct writes carry live events too.
        await client.put(f"{tenant.base}/{ws_id}", json={"name": "v"}, headers=tenant.headers())
        for stream in streams:
            assert (await stream.next()).event == "workspace.updated"
            stream.close()
    assert server.log is not None
    log = server.log
    logged = await eventually(lambda: _read(log), lambda lines: len(lines) == 3)
    assert [line["stream_write"] for line in logged] == ["direct"] * 3, logged


async def _read(log: Path) -> list[dict[str, object]]:
    return _stream_lines(log)
