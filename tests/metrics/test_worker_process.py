"""`mechamental worker` (bucket jobs and webhooks in a process of its own) is a scrape
target of its own: it serves its metrics on METRICS_PORT, where its job failures show."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from mechamental.db import Database
from mechamental.migrations import upgrade
from tests.conftest import create_tenant
from tests.helpers import eventually
from tests.metrics.conftest import Samples, parse, value
from tests.sync.procs import MECHAMENTAL, ServerProcess, create_ws, free_port, server_env

pytestmark = pytest.mark.timeout(300)
FAILURES = "mechamental_bucket_job_failures_total"
JOBS = "mechamental_bucket_jobs"


async def _scrape(port: int) -> Samples | None:
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
    except httpx.TransportError:
        return None  # not listening yet
    assert response.status_code == 200, response.text
    return parse(response.text)


async def test_the_worker_process_serves_its_metrics_on_the_port(
    tmp_path: Path,
) -> None:
    # A database of its own: the worker takes every queued job it finds, and the session's
    # shared one holds other tests' jobs (and their failures).
    database_url = f"sqlite:///{tmp_path / 'worker.db'}"
    upgrade(database_url)
    db = Database(database_url)
    try:
        tenant_db = await create_tenant(db, "worker")
    finally:
        await db.dispose()
    metrics_port = free_port()
    env = server_env(
        database_url=database_url,
        data_dir=tmp_path,
        redis_url=None,
        prefix="worker-metrics",
        MECHAMENTAL_METRICS_PORT=str(metrics_port),
        MECHAMENTAL_METRICS_READINGS_SECONDS="0",
        MECHAMENTAL_BUCKET_PROVIDER="local",
        MECHAMENTAL_BUCKET_PREFIX="NOT_A_BUCKET",  # an invalid name: fails at once, for good
        MECHAMENTAL_BUCKET_POLL_SECONDS="0.05",
    )
    # The API process without metrics, so that only the worker holds the port.
    api_env = {k: v for k, v in env.items() if k != "MECHAMENTAL_METRICS_PORT"}
    api = ServerProcess(api_env, log=tmp_path / "api.log")
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            [MECHAMENTAL, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        await api.start()
        before = await eventually(lambda: _scrape(metrics_port), lambda s: s is not None)
        assert before is not None and value(before, FAILURES) == 0
        async with httpx.AsyncClient(timeout=20) as client:
            await create_ws(client, api, tenant_db)
        # The counter moves when the attempt fails, the job's row when that is committed.
        after = await eventually(
            lambda: _scrape(metrics_port),
            lambda s: s is not None and value(s, JOBS, status="failed") >= 1,
        )
        assert after is not None
        assert value(after, JOBS, status="failed") == 1
        assert value(after, FAILURES) == 1  # one workspace, one job, failed for good once
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    finally:
        worker.terminate()
        worker.wait(20)
        await api.kill()
