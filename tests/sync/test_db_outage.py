"""Database blips: 503 with the envelope and Retry-After (never a 500), `/readyz` 503, and
open streams that stay open and carry events again once the database is back.

PostgreSQL is broken through a TCP proxy of the test's own (tests/pgproxy.py), so only
this app loses its database; SQLite's write lock is held by another connection.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from mechamental.app import create_app
from mechamental.db import Database, sqlite_path
from tests.conftest import PG_ADMIN_DSN, Tenant, create_tenant, make_settings
from tests.helpers import assert_envelope, eventually
from tests.pgproxy import PgProxy
from tests.sync.conftest import Server, new_workspace, rename, serve, stop_server


@pytest.fixture
def proxy() -> Iterator[PgProxy]:
    """A breakable path to PostgreSQL."""
    p = PgProxy().start()
    yield p
    p.close()


@pytest.fixture
async def proxied(
    postgres_database_url: str, proxy: PgProxy, tmp_path: Path
) -> AsyncIterator[tuple[Server, httpx.AsyncClient, Tenant]]:
    """The app on a real server, reaching the session database only through the proxy."""
    database = postgres_database_url.rsplit("/", 1)[1]
    settings = make_settings(proxy.url(database), tmp_path, db_wait_seconds=2.0)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        uv, port, task = await serve(application)
        direct = Database(postgres_database_url)
        try:
            tenant = await create_tenant(direct, "blip")
        finally:
            await direct.dispose()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield Server(application, port), client, tenant
        await stop_server(uv, task)


def assert_503(response: httpx.Response) -> None:
    """The outage answer: the envelope, a Retry-After, nothing about the cause."""
    # /readyz names each dependency it checked (tests/metrics).
    ready = response.request.url.path == "/readyz"
    details = {"checks": {"database": "unreachable"}} if ready else {}
    body = assert_envelope(response, 503, "SERVICE_UNAVAILABLE", details)
    assert int(response.headers["retry-after"]) >= 1
    for leak in ("asyncpg", "Errno", "127.0.0.1", "sqlite", "Traceback", "locked"):
        assert leak not in body["message"]


def no_unhandled(caplog: pytest.LogCaptureFixture) -> None:
    """No 500 was logged: nothing reached the crash handler."""
    crashes = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert not crashes, crashes[0].exc_text


async def test_lost_postgresql_is_503_and_streams_resume(
    proxied: tuple[Server, httpx.AsyncClient, Tenant],
    proxy: PgProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    server, client, tenant = proxied
    workspace_id = await new_workspace(client, tenant)
    stream = await server.stream(tenant, workspace_id)
    assert (await stream.next()).event == "sync.connected"
    url = f"{tenant.base}/{workspace_id}"

    proxy.cut()  # every connection dropped, new ones refused
    assert_503(await client.get(url, headers=tenant.headers()))
    assert_503(await client.put(url, json={"name": "x"}, headers=tenant.headers()))
    assert_503(await client.get(tenant.base, headers=tenant.headers()))
    assert_503(await client.get("/readyz"))
    assert (await client.get("/healthz")).status_code == 200

    proxy.starting()  # the server answers again, but is still starting up
    assert_503(await client.put(url, json={"name": "y"}, headers=tenant.headers()))
    assert_503(await client.get("/readyz"))

    proxy.restore()
    await eventually(lambda: client.get("/readyz"), lambda r: r.status_code == 200)
    await rename(client, tenant, workspace_id, "after the blip")
    events = await stream.until("workspace.updated", within=30)
    assert events[-1].data["data"]["workspace"]["name"] == "after the blip"
    assert not stream.ended
    stream.close()
    no_unhandled(caplog)


async def test_terminated_backends_are_never_a_500(
    proxied: tuple[Server, httpx.AsyncClient, Tenant],
    postgres_database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    _server, client, tenant = proxied
    workspace_id = await new_workspace(client, tenant)
    url = f"{tenant.base}/{workspace_id}"
    database = postgres_database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        for round_ in range(5):
            # Every backend on this session's own database (never anyone else's).
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid()",
                database,
            )
            for response in (
                await client.get(url, headers=tenant.headers()),
                await client.put(url, json={"name": f"r{round_}"}, headers=tenant.headers()),
            ):
                if response.status_code >= 500:
                    assert_503(response)
                else:
                    assert response.status_code == 200, response.text
    finally:
        await admin.close()
    await eventually(
        lambda: client.get(url, headers=tenant.headers()), lambda r: r.status_code == 200
    )
    no_unhandled(caplog)


@pytest.fixture
async def sqlite_app(sqlite_database_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """The app on the session SQLite file with a short busy timeout."""
    settings = make_settings(sqlite_database_url, tmp_path, db_wait_seconds=0.2)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_sqlite_locked_past_the_busy_timeout_is_503(
    sqlite_app: FastAPI, sqlite_database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    tenant = await create_tenant(sqlite_app.state.services.db, "locked")
    transport = httpx.ASGITransport(app=sqlite_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        path = sqlite_path(sqlite_database_url)
        assert path is not None
        other = sqlite3.connect(path, isolation_level=None)  # another process, say a script
        try:
            other.execute("BEGIN IMMEDIATE")
            locked = await client.post(tenant.base, json={"name": "w"}, headers=tenant.headers())
            assert_503(locked)
        finally:
            other.execute("ROLLBACK")
            other.close()
        created = await client.post(tenant.base, json={"name": "w"}, headers=tenant.headers())
        assert created.status_code == 201, created.text
    no_unhandled(caplog)
