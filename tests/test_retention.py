"""Bounded tables: four simulated days of traffic through the real app leave every table that
grows with traffic at the same size, day after day (`mechamental.retention`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from mechamental.buckets.jobs import UNFINISHED as JOBS_UNFINISHED
from mechamental.buckets.models import bucket_jobs
from mechamental.db import Database
from mechamental.retention import retention_of
from mechamental.sync.events.models import events
from mechamental.sync.hub import hub_of
from mechamental.sync.presence.models import presence_members
from mechamental.webhooks.deliveries import UNFINISHED as DELIVERIES_UNFINISHED
from mechamental.webhooks.models import webhook_attempts, webhook_deliveries
from mechamental.workspaces.models import idempotency_keys
from tests.conftest import Tenant, create_tenant, make_settings
from tests.helpers import eventually, running_app
from tests.sync.conftest import new_workspace, presence, rename
from tests.webhooks.conftest import create_webhook, receivers  # noqa: F401  (fixture)

STEP = 6 * 3600  # seconds of simulated time between retention passes
KEEP_COUNT = 5


async def sizes(db: Database, org_id: str) -> dict[str, int]:
    """This org's rows in every table retention bounds."""
    attempts = (
        select(func.count())
        .select_from(
            webhook_attempts.join(
                webhook_deliveries, webhook_attempts.c.delivery_id == webhook_deliveries.c.id
            )
        )
        .where(webhook_deliveries.c.org_id == org_id)
    )
    queries = {
        "events": select(func.count()).where(events.c.org_id == org_id),
        "presence_members": select(func.count()).where(presence_members.c.org_id == org_id),
        "idempotency_keys": select(func.count()).where(idempotency_keys.c.org_id == org_id),
        "bucket_jobs": select(func.count()).where(bucket_jobs.c.org_id == org_id),
        "webhook_deliveries": select(func.count()).where(webhook_deliveries.c.org_id == org_id),
        "webhook_attempts": attempts,
    }
    async with db.reader() as conn:
        return {name: int((await conn.execute(q)).scalar_one()) for name, q in queries.items()}


async def unfinished(db: Database, org_id: str) -> int:
    """Bucket jobs and webhook deliveries of the org still to do."""
    async with db.reader() as conn:
        jobs = await conn.execute(
            select(func.count()).where(
                bucket_jobs.c.org_id == org_id, bucket_jobs.c.status.in_(JOBS_UNFINISHED)
            )
        )
        sent = await conn.execute(
            select(func.count()).where(
                webhook_deliveries.c.org_id == org_id,
                webhook_deliveries.c.status.in_(DELIVERIES_UNFINISHED),
            )
        )
        return int(jobs.scalar_one()) + int(sent.scalar_one())


async def a_step_of_traffic(
    client: httpx.AsyncClient, tenant: Tenant, home: str, step: int
) -> None:
    """A workspace made (with an Idempotency-Key), used by two people, and deleted; the
    long-lived workspace renamed and visited."""
    made = await client.post(
        tenant.base,
        json={"name": f"day-{step}"},
        headers={**tenant.headers(), "Idempotency-Key": f"step-{step}"},
    )
    assert made.status_code == 201, made.text
    brief = made.json()["workspace_id"]
    for role in ("member", "viewer"):
        await presence(client, tenant, brief, "join", role)
        await presence(client, tenant, brief, "leave", role)
    for n in range(3):
        await rename(client, tenant, home, f"home {step}.{n}")
    await presence(client, tenant, home, "join", "member")
    await presence(client, tenant, home, "leave", "member")
    gone = await client.delete(f"{tenant.base}/{brief}", headers=tenant.headers())
    assert gone.status_code == 200, gone.text


async def test_four_simulated_days_keep_every_table_the_same_size(
    own_database_url: str,  # it moves the clock by days: others' leftovers would fall due
    tmp_path: Path,
    receivers: Any,  # noqa: F811
) -> None:
    settings = make_settings(
        own_database_url,
        tmp_path,
        run_worker=True,
        webhook_allow_private=True,
        webhook_poll_seconds=0.1,
        event_retention_count=KEEP_COUNT,
        event_retention_seconds=3600,
        idempotency_ttl_seconds=3600,
        finished_retention_seconds=2 * 3600,
        retention_interval_seconds=86400,  # the test runs each pass itself
    )
    async with running_app(settings) as (app, client):
        services = app.state.services
        tenant = await create_tenant(services.db, "retained")
        await create_webhook(client, tenant, await receivers())
        home = await new_workspace(client, tenant, name="home")
        seen: list[dict[str, int]] = []
        for step in range(16):
            await a_step_of_traffic(client, tenant, home, step)
            # Everything this step started has finished (buckets made and removed, hooks sent)...
            await eventually(lambda: unfinished(services.db, tenant.org_id), lambda n: n == 0)
            await hub_of(services).publisher.publish_queued()  # embedded: flagged in batches
            before = await sizes(services.db, tenant.org_id)
            # ...then time passes and retention runs.
            services.clock.advance(STEP)
            await retention_of(services).run_once()
            seen.append(await sizes(services.db, tenant.org_id))
            assert all(seen[-1][t] <= before[t] for t in before), (before, seen[-1])
        assert before["webhook_deliveries"] > 0 and before["bucket_jobs"] > 0  # there was work
    # Past the longest window (absent members: a day = four steps) the sizes stay the same.
    assert all(s == seen[5] for s in seen[5:]), seen
    final = seen[-1]
    assert final["events"] == KEEP_COUNT  # the long-lived workspace's last events
    assert final["idempotency_keys"] == 0
    assert final["bucket_jobs"] == 0
    assert final["webhook_deliveries"] == final["webhook_attempts"] == 0
    # Absent members stay a day (stale updates stay recognisable): the home's member, and
    # the two of each of the last four deleted workspaces.
    assert final["presence_members"] <= 1 + 2 * 5
