"""Helpers for bucket tests: waiting for states, reading jobs and events, orphan checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from tests.conftest import Tenant
from tests.helpers import eventually

from mechamental.buckets.models import bucket_jobs
from mechamental.buckets.providers.factory import make_provider
from mechamental.buckets.worker import BucketWorker
from mechamental.config import Settings
from mechamental.db import Database
from mechamental.sync.events.models import events
from mechamental.tables import workspaces

T = TypeVar("T")


def db_of(app: FastAPI) -> Database:
    """The app's database."""
    db: Database = app.state.services.db
    return db


async def create(client: httpx.AsyncClient, tenant: Tenant, **body: Any) -> dict[str, Any]:
    """Create a workspace through the API; returns its JSON."""
    body.setdefault("name", "ws")
    response = await client.post(tenant.base, json=body, headers=tenant.headers())
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def get(client: httpx.AsyncClient, tenant: Tenant, workspace_id: str) -> httpx.Response:
    """GET one workspace."""
    return await client.get(f"{tenant.base}/{workspace_id}", headers=tenant.headers())


async def wait_status(
    client: httpx.AsyncClient, tenant: Tenant, workspace_id: str, *statuses: str
) -> dict[str, Any]:
    """Wait until the workspace's bucket_status is one of `statuses`; returns the workspace."""

    async def probe() -> dict[str, Any]:
        data: dict[str, Any] = (await get(client, tenant, workspace_id)).json()
        return data

    return await eventually(probe, lambda ws: ws.get("bucket_status") in statuses)


async def job_rows(db: Database, workspace_id: str) -> list[dict[str, Any]]:
    """The workspace's bucket jobs, oldest first."""
    async with db.reader() as conn:
        rows = (
            await conn.execute(
                select(bucket_jobs)
                .where(bucket_jobs.c.workspace_id == workspace_id)
                .order_by(bucket_jobs.c.created_at, bucket_jobs.c.id)
            )
        ).mappings()
        return [dict(r) for r in rows.all()]


async def wait_jobs(
    db: Database, workspace_id: str, until: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """Wait until the workspace's jobs satisfy `until`."""
    return await eventually(lambda: job_rows(db, workspace_id), until)


def statuses(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(action, status) of each job."""
    return [(r["action"], r["status"]) for r in rows]


async def bucket_events(db: Database, workspace_id: str) -> list[dict[str, Any]]:
    """The workspace's events in order: (seq, type, data)."""
    async with db.reader() as conn:
        rows = (
            await conn.execute(
                select(events.c.seq, events.c.type, events.c.data)
                .where(events.c.workspace_id == workspace_id)
                .order_by(events.c.seq)
            )
        ).mappings()
        return [dict(r) for r in rows.all()]


async def orphans(db: Database, settings: Settings) -> tuple[set[str], set[str]]:
    """(buckets in the store with no workspace, active workspaces with no bucket)."""
    store = make_provider(settings)
    try:
        held = set(await store.list_buckets(prefix=settings.bucket_prefix + "-"))
    finally:
        await store.close()
    async with db.reader() as conn:
        rows = (
            await conn.execute(
                select(workspaces.c.s3_bucket, workspaces.c.bucket_status).where(
                    workspaces.c.s3_bucket.startswith(settings.bucket_prefix + "-")
                )
            )
        ).all()
    owned = {r.s3_bucket for r in rows}
    active = {r.s3_bucket for r in rows if r.bucket_status == "active"}
    return held - owned, active - held


@asynccontextmanager
async def running_worker(
    db: Database, settings: Settings, *, concurrency: int = 16
) -> AsyncIterator[BucketWorker]:
    """A bucket worker of our own (for apps started with `run_worker=False`)."""
    worker = BucketWorker(db=db, settings=settings, concurrency=concurrency)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()
