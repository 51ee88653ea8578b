"""Faults of the object store: down, failing, refusing; and bounded retries."""

from __future__ import annotations

from typing import Any

import boto3
import httpx
import pytest
from fastapi import FastAPI
from tests.buckets.faults import FaultProxy, Op
from tests.buckets.helpers import (
    create,
    db_of,
    orphans,
    running_worker,
    statuses,
    wait_jobs,
    wait_status,
)
from tests.conftest import Tenant

from mechamental.config import Settings


@pytest.fixture
def proxy_down(proxy: FaultProxy) -> FaultProxy:
    """The store's endpoint refusing connections when the app starts."""
    proxy.down()
    return proxy


async def test_endpoint_down_at_first_then_back(
    proxy_down: FaultProxy, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, s3: Any
) -> None:
    ws = await create(client, tenant)
    assert ws["bucket_status"] == "pending"  # the API never waits for the store
    rows = await wait_jobs(
        db_of(app),
        ws["workspace_id"],
        lambda r: r[0]["attempts"] >= 2 and r[0]["status"] == "queued",
    )
    assert "connect" in (rows[0]["last_error"] or "").lower()  # failed twice, waiting to retry

    proxy_down.up()
    done = await wait_status(client, tenant, ws["workspace_id"], "active", "failed")
    assert done["bucket_status"] == "active"
    assert ws["s3_bucket"] in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    rows = await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[0]["status"] == "done")
    assert rows[0]["attempts"] >= 3


def _is_delete_bucket(op: Op) -> bool:
    return op.name == "DeleteBucket"


async def test_delete_failing_then_recovering(
    proxy: FaultProxy,
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    s3: Any,
    settings: Settings,
) -> None:
    ws = await create(client, tenant)
    await wait_status(client, tenant, ws["workspace_id"], "active")
    s3.put_object(Bucket=ws["s3_bucket"], Key="a.txt", Body=b"a")
    proxy.fail(_is_delete_bucket, status=500, code="InternalError")

    await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    rows = await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[-1]["attempts"] >= 2)
    assert rows[-1]["action"] == "delete" and "InternalError" in rows[-1]["last_error"]
    assert ws["s3_bucket"] in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    proxy.clear_failures()
    rows = await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[-1]["status"] == "done")
    assert ws["s3_bucket"] not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert await orphans(db_of(app), settings) == (set(), set())


@pytest.mark.bucket_settings(bucket_max_attempts=3)
async def test_giving_up_after_max_attempts_marks_failed_with_the_error(
    proxy: FaultProxy, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    proxy.fail(lambda op: op.name == "CreateBucket", status=503, code="SlowDown")
    ws = await create(client, tenant)
    failed = await wait_status(client, tenant, ws["workspace_id"], "failed")
    assert "SlowDown" in failed["bucket_error"]
    rows = await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[0]["status"] == "failed")
    assert rows[0]["attempts"] == 3


def _other_account_client(moto_url: str) -> Any:
    client = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")

    def as_other_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = "210987654321"

    client.meta.events.register("before-sign.s3.*", as_other_account)
    return client


@pytest.mark.bucket_settings(run_worker=False)
async def test_name_taken_by_another_account_fails_clearly_and_is_never_deleted(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    moto_url: str,
    settings: Settings,
) -> None:
    ws = await create(client, tenant)
    name = ws["s3_bucket"]
    other = _other_account_client(moto_url)
    other.create_bucket(Bucket=name)  # someone else got the name first
    async with running_worker(db_of(app), settings):
        failed = await wait_status(client, tenant, ws["workspace_id"], "failed")
        assert "already taken by another account" in failed["bucket_error"]
        rows = await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[0]["status"] == "failed")
        assert rows[0]["attempts"] == 1  # permanent: not retried

        await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
        rows = await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[-1]["status"] == "done")
    assert rows[-1]["outcome"] == "not_ours" and "never ours" in rows[-1]["last_error"]
    assert name in {b["Name"] for b in other.list_buckets()["Buckets"]}
    other.delete_bucket(Bucket=name)


@pytest.mark.bucket_settings(run_worker=False)
@pytest.mark.parametrize("provider", ["local"])
async def test_local_name_taken_fails_clearly(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    ws = await create(client, tenant)
    squatted = settings.data_dir / "buckets" / ws["s3_bucket"]
    squatted.mkdir(parents=True)
    (squatted / "someone-elses-file").write_text("mine")
    async with running_worker(db_of(app), settings):
        failed = await wait_status(client, tenant, ws["workspace_id"], "failed")
        assert "already taken" in failed["bucket_error"]
        await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
        await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[-1]["status"] == "done")
    assert (squatted / "someone-elses-file").read_text() == "mine"


async def test_region_the_store_rejects_fails_clearly(
    proxy: FaultProxy, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    proxy.fail(lambda op: op.name == "CreateBucket", status=400, code="InvalidLocationConstraint")
    ws = await create(client, tenant, region="ap-southeast-4")
    failed = await wait_status(client, tenant, ws["workspace_id"], "failed")
    assert failed["bucket_error"] == (
        "the object store rejected region ap-southeast-4: InvalidLocationConstraint"
    )
    rows = await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[0]["status"] == "failed")
    assert statuses(rows) == [("provision", "failed")] and rows[0]["attempts"] == 1
    assert await orphans(db_of(app), settings) == (set(), set())
