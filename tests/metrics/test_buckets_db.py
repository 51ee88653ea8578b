"""Bucket job families and the database pool gauge."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.conftest import Tenant
from tests.helpers import eventually
from tests.metrics.conftest import scrape, value
from tests.sync.conftest import new_workspace

EMBEDDED = pytest.mark.parametrize("bus", ["embedded"], indirect=True)
JOBS = "mechamental_bucket_jobs"


@EMBEDDED
async def test_queued_jobs(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """RUN_WORKER is off in tests: a new workspace's provision job stays queued."""
    before = await scrape(client)
    await new_workspace(client, tenant)
    after = await scrape(client)
    assert value(after, JOBS, status="queued") - value(before, JOBS, status="queued") == 1
    assert {labels for name, labels in after if name == JOBS} == {
        (("status", s),) for s in ("queued", "running", "failed")
    }


@EMBEDDED
@pytest.mark.metrics_settings(
    run_worker=True, bucket_provider="local", bucket_prefix="NOT_A_BUCKET", bucket_poll_seconds=0.05
)
async def test_a_failing_job(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """An invalid bucket name fails for good at the first attempt."""
    before = await scrape(client)
    ws_id = await new_workspace(client, tenant)

    async def status() -> str:
        response = await client.get(f"{tenant.base}/{ws_id}", headers=tenant.headers())
        return str(response.json()["bucket_status"])

    await eventually(status, lambda s: s == "failed")
    after = await scrape(client)
    failures = "mechamental_bucket_job_failures_total"
    assert value(after, failures) - value(before, failures) >= 1
    assert value(after, JOBS, status="failed") - value(before, JOBS, status="failed") >= 1


@EMBEDDED
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_db_pool_in_use(client: httpx.AsyncClient, app: FastAPI) -> None:
    db = app.state.services.db
    async with db.reader() as conn:  # one connection held while the scrape reads
        await conn.execute(text("select 1"))
        held = await scrape(client)
    assert value(held, "mechamental_db_pool_in_use") >= 1
    released = await eventually(
        lambda: scrape(client), lambda s: value(s, "mechamental_db_pool_in_use") == 0
    )
    assert value(released, "mechamental_db_pool_in_use") == 0
