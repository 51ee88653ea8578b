"""Real-server fixtures: the app on SQLite and on PostgreSQL, tenants with tokens per role.

PostgreSQL: a throw-away database per test session on 127.0.0.1:5432, dropped at the end.
Without PostgreSQL the postgres-backed tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from mechamental.app import create_app
from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.config import Settings
from mechamental.db import Database
from mechamental.migrations import upgrade

PG_HOST = os.environ.get("MECHAMENTAL_TEST_PG_HOST", "127.0.0.1")
PG_ADMIN_DSN = f"postgresql://postgres@{PG_HOST}:5432/postgres"
IN_CI = os.environ.get("CI", "").lower() == "true"
JWT_SECRET = "test-jwt-secret-" + "x" * 32


def _pg_reachable() -> bool:
    async def probe() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
        return True
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False


def _admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.fixture(scope="session")
def postgres_database_url() -> Iterator[str]:
    """A migrated throw-away PostgreSQL database for this session."""
    if not _pg_reachable():
        if IN_CI:
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (required under CI=true)")
        pytest.skip("PostgreSQL not reachable")
    name = f"mm_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file for this session."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    upgrade(url)
    return url


@pytest.fixture
def own_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database for this test alone, for tests whose leftovers would reach the
    others' (the fuzzer's webhook endpoints and their thousands of due deliveries)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'own.db'}"
        upgrade(url)
        yield url
        return
    request.getfixturevalue("postgres_database_url")  # reachable (or fails as it does)
    name = f"mm_own_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        url = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
        upgrade(url)
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database the test runs on; every API test runs on both."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    """The session database of the current backend (tests isolate by org)."""
    return str(request.getfixturevalue(f"{backend}_database_url"))


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test server: explicit, independent of the environment."""
    values: dict[str, Any] = {
        "env": "test",
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": "test-secret-key-" + "k" * 32,
        "jwt_secret": JWT_SECRET,
        "log_level": "WARNING",
        "run_worker": False,
        "rate_limits": False,  # tests/limits turn them on
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings of the app under test (override with `settings_overrides`)."""
    return make_settings(database_url, tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real application with its lifespan running."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the app in-process (ASGI transport)."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@dataclass
class Tenant:
    """An organization with one token per role."""

    org_id: str
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str = "owner") -> dict[str, str]:
        """Authorization headers for the given role."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    @property
    def base(self) -> str:
        """The workspace collection URL of this org."""
        return f"/v1/orgs/{self.org_id}/workspaces"


async def create_tenant(db: Database, name: str = "org") -> Tenant:
    """Make an org and an API key for each role (user ids `<role>-<org>`)."""
    async with db.transaction() as conn:
        org_id = await tokens.create_org(conn, name=name, org_id=f"{name}-{uuid.uuid4().hex[:10]}")
        tenant = Tenant(org_id=org_id)
        for role in Role:
            user = f"{role.value}-user"
            issued = await tokens.create_token(conn, org_id=org_id, user_id=user, role=role)
            tenant.tokens[role.value] = issued.secret
            tenant.users[role.value] = user
    return tenant


@pytest.fixture
async def tenant(app: FastAPI) -> Tenant:
    """A fresh org with tokens for every role."""
    return await create_tenant(app.state.services.db, "acme")


@pytest.fixture
async def other_tenant(app: FastAPI) -> Tenant:
    """A second, unrelated org."""
    return await create_tenant(app.state.services.db, "globex")
