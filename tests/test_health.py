"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import httpx

from mechamental.migrations import upgrade
from tests.conftest import PG_ADMIN_DSN, make_settings
from tests.helpers import assert_envelope, running_app


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


async def test_readyz_names_the_database(client: httpx.AsyncClient, backend: str) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"sqlite": "sqlite", "postgres": "postgresql"}[backend],
        "checks": {"database": "ok"},  # and "redis" when configured (tests/metrics)
    }


async def test_probes_need_no_token(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/livez", "/readyz"):
        response = await client.get(path, headers={"Authorization": "Bearer mm_revoked_or_junk"})
        assert response.status_code == 200


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_readyz_is_503_when_the_database_goes_away(
    postgres_database_url: str, tmp_path: Path
) -> None:
    """PostgreSQL only: an embedded SQLite file cannot become unreachable under a running app."""
    name = f"mm_ready_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        url = postgres_database_url.rsplit("/", 1)[0] + f"/{name}"
        await asyncio.to_thread(upgrade, url)
        async with running_app(make_settings(url, tmp_path)) as (_, c):
            assert (await c.get("/readyz")).status_code == 200
            await _admin(f'DROP DATABASE "{name}" WITH (FORCE)')
            ready = await c.get("/readyz")
            body = assert_envelope(
                ready, 503, "SERVICE_UNAVAILABLE", {"checks": {"database": "unreachable"}}
            )
            for leak in ("127.0.0.1", name, "Errno", "asyncpg", "does not exist"):
                assert leak not in body["message"]
            assert (await c.get("/healthz")).status_code == 200
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
