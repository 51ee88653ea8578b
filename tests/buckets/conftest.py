"""Bucket fixtures: a real moto S3 server, a fault proxy in front of it, the app with its worker.

Bucket tests use their own databases (one per backend per session), so jobs queued by
other suites (which run without a worker) are never picked up here; each test's buckets
carry a unique prefix, and its unfinished jobs are cancelled when it ends.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from sqlalchemy import update
from tests.buckets.faults import FaultProxy, free_port
from tests.conftest import PG_HOST, _admin, make_settings

from mechamental.buckets import jobs
from mechamental.buckets.models import bucket_jobs
from mechamental.config import Settings
from mechamental.db import Database
from mechamental.migrations import upgrade

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker that tunes a test's settings."""
    config.addinivalue_line("markers", "bucket_settings(**kw): override bucket test settings")


@pytest.fixture(scope="session", autouse=True)
def _aws_env() -> Iterator[None]:
    """Dummy credentials for moto (the real credential chain reads them)."""
    saved = {k: os.environ.get(k) for k in AWS_ENV}
    os.environ.update(AWS_ENV)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """A moto S3 server in its own process on a free loopback port."""
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def bucket_sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated SQLite file for the bucket tests alone."""
    url = f"sqlite:///{tmp_path_factory.mktemp('buckets') / 'buckets.db'}"
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def bucket_postgres_url(postgres_database_url: str) -> Iterator[str]:
    """A migrated throw-away PostgreSQL database for the bucket tests alone."""
    name = f"mm_buckets_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@{PG_HOST}:5432/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    """The bucket tests' own database of the current backend."""
    return str(request.getfixturevalue(f"bucket_{backend}_url"))


@pytest.fixture
def provider() -> str:
    """Which bucket provider the app uses (parametrize to change)."""
    return "s3"


@pytest.fixture
def proxy(moto_url: str) -> Iterator[FaultProxy]:
    """The fault proxy the worker talks to instead of moto directly."""
    p = FaultProxy(moto_url).start()
    yield p
    p.close()


@pytest.fixture
def prefix() -> str:
    """A bucket-name prefix unique to this test."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(
    request: pytest.FixtureRequest,
    database_url: str,
    tmp_path: Path,
    provider: str,
    proxy: FaultProxy,
    prefix: str,
) -> Iterator[Settings]:
    """Fast-retrying worker settings; `@pytest.mark.bucket_settings(...)` overrides them."""
    values: dict[str, Any] = {
        "run_worker": True,
        "bucket_provider": provider,
        "bucket_prefix": prefix,
        "s3_endpoint_url": proxy.url,
        "bucket_max_attempts": 50,
        "bucket_backoff_base_seconds": 0.02,
        "bucket_backoff_max_seconds": 0.2,
        "bucket_lease_seconds": 5.0,
        "bucket_poll_seconds": 0.05,
        "shutdown_grace_seconds": 1.0,
    }
    marker = request.node.get_closest_marker("bucket_settings")
    if marker is not None:
        values.update(marker.kwargs)
    yield make_settings(database_url, tmp_path, **values)
    _cancel_leftovers(database_url, prefix)


def _cancel_leftovers(database_url: str, prefix: str) -> None:
    import asyncio

    async def run() -> None:
        db = Database(database_url)
        try:
            async with db.transaction() as conn:
                await conn.execute(
                    update(bucket_jobs)
                    .where(
                        bucket_jobs.c.bucket_name.startswith(prefix),
                        bucket_jobs.c.status.in_(jobs.UNFINISHED),
                    )
                    .values(status=jobs.CANCELLED, lease_owner=None)
                )
        finally:
            await db.dispose()

    asyncio.run(run())


@pytest.fixture
def s3(moto_url: str) -> Any:
    """A boto3 client straight to moto (no proxy), for inspecting and seeding buckets."""
    return boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")


@pytest.fixture
def worker_env(settings: Settings) -> dict[str, str]:
    """Environment for a `mechamental` subprocess with the same settings as the app."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECHAMENTAL_")}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        if isinstance(value, list):
            value = ",".join(value)
        elif isinstance(value, dict):  # a nested model (`sync`): pydantic-settings reads JSON
            value = json.dumps(value)
        env[f"MECHAMENTAL_{name.upper()}"] = str(value)
    env.update(AWS_ENV)
    return env
