"""Revoking a key from the CLI ends its streams on every real server process."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import httpx
import pytest

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database
from tests.conftest import Tenant
from tests.helpers import bearer
from tests.sync.procs import (
    FAST,
    MECHAMENTAL,
    ServerProcess,
    create_ws,
    launch,
    lone_server,
    server_env,
)
from tests.sync.sse import Stream, open_stream

pytestmark = pytest.mark.timeout(900)


async def key_for(database_url: str, tenant: Tenant) -> tokens.IssuedToken:
    db = Database(database_url)
    try:
        async with db.transaction() as conn:
            return await tokens.create_token(
                conn, org_id=tenant.org_id, user_id="doomed-user", role=Role.MEMBER
            )
    finally:
        await db.dispose()


async def streams_of(
    client: httpx.AsyncClient, proc: ServerProcess, tenant: Tenant, ws_id: str, secret: str
) -> list[Stream]:
    """One stream with the key itself, one through a ticket made from it."""
    path = f"{tenant.base}/{ws_id}/sync/stream"
    direct = await open_stream(proc.port, path, bearer(secret))
    made = await client.post(
        f"{proc.url}{tenant.base}/{ws_id}/sync/tickets", headers=bearer(secret)
    )
    assert made.status_code == 201, made.text
    via_ticket = await open_stream(proc.port, made.json()["stream_url"])
    for stream in (direct, via_ticket):
        assert stream.status == 200
        assert (await stream.next()).event == "sync.connected"
    return [direct, via_ticket]


async def cli_revoke(env: dict[str, str], token_id: str) -> None:
    result = await asyncio.to_thread(
        subprocess.run,
        [MECHAMENTAL, "tokens", "revoke", token_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


async def assert_all_end_revoked(streams: list[Stream]) -> None:
    for stream in streams:
        events = await stream.wait_end(within=30)
        assert events and events[-1].event == "sync.unauthorized", [e.event for e in events]
        assert events[-1].data["data"] == {"reason": "token_revoked"}


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_cli_revocation_ends_streams_on_two_processes_sharing_redis(
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
    key = await key_for(database_url, tenant)
    async with httpx.AsyncClient(timeout=20) as client:
        ws_id = await create_ws(client, a, tenant)
        streams = [
            *await streams_of(client, a, tenant, ws_id, key.secret),
            *await streams_of(client, b, tenant, ws_id, key.secret),
        ]
        await cli_revoke(env, key.id)
        await assert_all_end_revoked(streams)
        for proc in (a, b):
            again = await open_stream(
                proc.port, f"{tenant.base}/{ws_id}/sync/stream", bearer(key.secret)
            )
            assert again.status == 401
            again.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_cli_revocation_reaches_an_embedded_server(
    tenant_db: Tenant, database_url: str, tmp_path: Path
) -> None:
    tenant = tenant_db
    key = await key_for(database_url, tenant)
    async with (
        lone_server(database_url, tmp_path) as proc,
        httpx.AsyncClient(timeout=20) as client,
    ):
        ws_id = await create_ws(client, proc, tenant)
        streams = await streams_of(client, proc, tenant, ws_id, key.secret)
        await cli_revoke(proc.env, key.id)
        await assert_all_end_revoked(streams)
