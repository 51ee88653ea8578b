"""Deleting an endpoint: its deliveries go with the retention purge, and the delete never
waits for a delivery the worker holds (on PostgreSQL, where it once deadlocked)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from mechamental.retention import retention_of
from mechamental.webhooks.models import webhook_attempts, webhook_deliveries
from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.conftest import new_workspace, rename
from tests.webhooks.conftest import Receiver, create_webhook, deliveries


async def _rows(app: FastAPI, org_id: str) -> tuple[int, int]:
    """(deliveries, attempts) of the org in the database."""
    async with app.state.services.db.reader() as conn:
        made = await conn.execute(select(func.count()).where(webhook_deliveries.c.org_id == org_id))
        tried = await conn.execute(
            select(func.count())
            .select_from(
                webhook_attempts.join(
                    webhook_deliveries, webhook_attempts.c.delivery_id == webhook_deliveries.c.id
                )
            )
            .where(webhook_deliveries.c.org_id == org_id)
        )
        return int(made.scalar_one()), int(tried.scalar_one())


async def test_a_deleted_endpoints_deliveries_go_with_the_purge(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, receivers: Any
) -> None:
    receiver: Receiver = await receivers()
    receiver.respond = lambda _r: 503  # every delivery stays pending, its attempt kept
    hook = await create_webhook(client, tenant, receiver, event_types=["workspace.updated"])
    ws = await new_workspace(client, tenant)
    for n in range(3):
        await rename(client, tenant, ws, f"n{n}")
    made = await eventually(
        lambda: deliveries(client, tenant, hook["id"]),
        lambda ds: len(ds) == 3 and all(len(d["attempts"]) == 1 for d in ds),
    )
    url = f"/v1/orgs/{tenant.org_id}/webhooks/{hook['id']}"
    assert (await client.delete(url, headers=tenant.headers())).status_code == 204
    listed = await client.get(f"{url}/deliveries", headers=tenant.headers())
    assert listed.status_code == 404, listed.text
    one = made[0]["id"]
    retried = await client.post(f"{url}/deliveries/{one}/retry", headers=tenant.headers())
    assert retried.status_code == 404, retried.text
    assert await _rows(app, tenant.org_id) == (3, 3)  # until the purge
    removed = await retention_of(app.state.services).run_once()
    assert removed["webhook_deliveries"] == 3
    assert await _rows(app, tenant.org_id) == (0, 0)


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)  # row locks: PostgreSQL's
async def test_deleting_an_endpoint_never_waits_for_a_delivery_being_finished(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    receivers: Any,
    own_database_url: str,
) -> None:
    """A transaction holds a delivery's row and then updates its endpoint's row, as the
    worker's outcome batch does (`finish`, then `note_success`); the delete goes between.
    It used to wait for the delivery while holding the endpoint: a deadlock, one side's
    transaction aborted (the delete answered 500)."""
    receiver: Receiver = await receivers()
    receiver.respond = lambda _r: 503
    hook = await create_webhook(client, tenant, receiver, event_types=["workspace.updated"])
    ws = await new_workspace(client, tenant)
    await rename(client, tenant, ws, "n")
    await eventually(lambda: deliveries(client, tenant, hook["id"]), lambda ds: len(ds) == 1)
    worker = await asyncpg.connect(own_database_url.replace("+asyncpg", ""))
    try:
        async with worker.transaction():
            await worker.execute(
                "UPDATE webhook_deliveries SET updated_at = now() WHERE webhook_id = $1",
                hook["id"],
            )
            url = f"/v1/orgs/{tenant.org_id}/webhooks/{hook['id']}"
            delete = asyncio.create_task(client.delete(url, headers=tenant.headers()))
            done, _ = await asyncio.wait({delete}, timeout=30)
            assert done, "the delete waited for a delivery row another transaction holds"
            assert delete.result().status_code == 204, delete.result().text
            updated = await worker.execute(
                "UPDATE webhooks SET failing_since = NULL WHERE id = $1", hook["id"]
            )
            assert updated == "UPDATE 0"  # the endpoint is gone; this commits
    finally:
        await worker.close()
