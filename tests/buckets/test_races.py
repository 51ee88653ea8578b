"""Races between the API and workers: deletes during provisioning, twins, two workers."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.buckets.faults import FaultProxy
from tests.buckets.helpers import (
    create,
    db_of,
    get,
    job_rows,
    orphans,
    running_worker,
    statuses,
    wait_jobs,
    wait_status,
)
from tests.conftest import Tenant

from mechamental.config import Settings
from mechamental.db import Database

FINAL = ("done", "failed", "cancelled", "retained")


def _all_final(rows: list[dict[str, Any]]) -> bool:
    return bool(rows) and all(r["status"] in FINAL for r in rows)


def _store_names(s3: Any) -> set[str]:
    return {b["Name"] for b in s3.list_buckets()["Buckets"]}


async def test_delete_while_provisioning_waits_for_it_then_removes_the_bucket(
    proxy: FaultProxy,
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    s3: Any,
    settings: Settings,
) -> None:
    held: dict[str, str] = {}
    proxy.hold(lambda op: op.name == "CreateBucket" and op.bucket == held.get("name", op.bucket))
    ws = await create(client, tenant, region="eu-west-1")
    held["name"] = ws["s3_bucket"]  # from now on only this bucket's creation is held
    await asyncio.to_thread(proxy.wait_held)  # the worker is inside CreateBucket now
    assert (await get(client, tenant, ws["workspace_id"])).json()["bucket_status"] == (
        "provisioning"
    )

    gone = await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    assert gone.status_code == 200
    # A workspace created after the delete gets its bucket: the worker has polled since,
    # and jobs are claimed oldest-due first, so the delete job was passed over on purpose.
    later = await create(client, tenant)
    await wait_status(client, tenant, later["workspace_id"], "active")
    waiting = await job_rows(db_of(app), ws["workspace_id"])
    assert statuses(waiting) == [("provision", "running"), ("delete", "queued")]
    proxy.release()

    rows = await wait_jobs(db_of(app), ws["workspace_id"], _all_final)
    assert statuses(rows) == [("provision", "done"), ("delete", "done")]
    assert rows[1]["outcome"] == "removed"
    name = ws["s3_bucket"]
    # The removal started only once the provision's last call had finished.
    assert proxy.index("DeleteBucket", name, "start") > proxy.index("PUT tagging", name, "end")
    assert name not in _store_names(s3)
    assert await orphans(db_of(app), settings) == (set(), set())


@pytest.mark.bucket_settings(run_worker=False)
async def test_created_and_deleted_before_any_worker_runs(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, settings: Settings, s3: Any
) -> None:
    ws = await create(client, tenant)
    await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    async with running_worker(db_of(app), settings):
        rows = await wait_jobs(db_of(app), ws["workspace_id"], _all_final)
    assert statuses(rows) == [("provision", "cancelled"), ("delete", "done")]
    assert rows[1]["outcome"] == "absent"
    assert ws["s3_bucket"] not in _store_names(s3)


@pytest.mark.parametrize("provider", ["local", "s3"])
async def test_many_created_and_deleted_at_once_leave_no_orphan(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    async def create_then_delete() -> str:
        ws = await create(client, tenant)
        url = f"{tenant.base}/{ws['workspace_id']}"
        assert (await client.delete(url, headers=tenant.headers())).status_code == 200
        return str(ws["workspace_id"])

    ids = await asyncio.gather(*(create_then_delete() for _ in range(8)))
    for workspace_id in ids:
        rows = await wait_jobs(db_of(app), workspace_id, _all_final)
        assert statuses(rows)[-1] == ("delete", "done")
        assert rows[0]["status"] in ("done", "cancelled")
    assert await orphans(db_of(app), settings) == (set(), set())


async def test_delete_twice(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, settings: Settings, s3: Any
) -> None:
    ws = await create(client, tenant)
    await wait_status(client, tenant, ws["workspace_id"], "active")
    url = f"{tenant.base}/{ws['workspace_id']}"
    answers = await asyncio.gather(*(client.delete(url, headers=tenant.headers()) for _ in "ab"))
    assert sorted(a.status_code for a in answers) == [200, 404]
    assert (await client.delete(url, headers=tenant.headers())).status_code == 404
    rows = await wait_jobs(db_of(app), ws["workspace_id"], _all_final)
    assert statuses(rows) == [("provision", "done"), ("delete", "done")]
    assert ws["s3_bucket"] not in _store_names(s3)


@pytest.mark.bucket_settings(run_worker=False)
async def test_two_workers_on_one_database_do_each_job_once(
    proxy: FaultProxy, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    made = [await create(client, tenant) for _ in range(16)]
    dbs = [Database(settings.database_url) for _ in range(2)]
    try:
        async with (
            running_worker(dbs[0], settings, concurrency=3),
            running_worker(dbs[1], settings, concurrency=3),
        ):
            for ws in made:
                await wait_status(client, tenant, ws["workspace_id"], "active", "failed")
    finally:
        for db in dbs:
            await db.dispose()
    for ws in made:
        rows = await job_rows(db_of(app), ws["workspace_id"])
        assert [(r["status"], r["attempts"]) for r in rows] == [("done", 1)]
        assert len(proxy.ops("CreateBucket", ws["s3_bucket"])) == 1
    assert await orphans(db_of(app), settings) == (set(), set())
