"""`MAX_WORKSPACES_PER_ORG`: a create beyond it is 403 `QUOTA_EXCEEDED`, exact under
concurrent creates (the conditional UPDATE of the org's count in the create's transaction)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from mechamental.auth.models import organizations
from tests.conftest import Tenant
from tests.helpers import assert_envelope, bearer, make_jwt


async def org_count(app: FastAPI, org_id: str) -> int:
    """The maintained `organizations.workspace_count`."""
    async with app.state.services.db.reader() as conn:
        row = (
            await conn.execute(
                select(organizations.c.workspace_count).where(organizations.c.id == org_id)
            )
        ).first()
    assert row is not None
    return int(row[0])


@pytest.mark.limits(rate_limits=False, max_workspaces_per_org=3)
async def test_exactly_the_quota_succeeds_under_concurrent_creates(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    responses = await asyncio.gather(
        *(
            client.post(tenant.base, json={"name": f"ws {i}"}, headers=tenant.headers())
            for i in range(20)
        )
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 3 + [403] * 17
    for response in responses:
        if response.status_code == 403:
            body = assert_envelope(response, 403, "QUOTA_EXCEEDED")
            assert body["details"] == {"quota": "workspaces", "limit": 3, "current": 3}
    assert await org_count(app, tenant.org_id) == 3
    listed = await client.get(tenant.base, headers=tenant.headers())
    assert listed.json()["total"] == 3

    # Another org has its own quota; a delete makes room again.
    other = await client.post(other_tenant.base, json={"name": "x"}, headers=other_tenant.headers())
    assert other.status_code == 201
    victim = next(r for r in responses if r.status_code == 201).json()["workspace_id"]
    deleted = await client.delete(f"{tenant.base}/{victim}", headers=tenant.headers())
    assert deleted.status_code == 200
    again = await client.post(tenant.base, json={"name": "again"}, headers=tenant.headers())
    assert again.status_code == 201
    assert await org_count(app, tenant.org_id) == 3


@pytest.mark.limits(rate_limits=False, max_workspaces_per_org=1)
async def test_a_refused_create_leaves_nothing_and_is_not_replayed_as_201(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    first = await client.post(tenant.base, json={"name": "one"}, headers=tenant.headers())
    assert first.status_code == 201
    key = {**tenant.headers(), "Idempotency-Key": "second-one"}
    for _ in range(2):
        refused = await client.post(tenant.base, json={"name": "two"}, headers=key)
        assert_envelope(refused, 403, "QUOTA_EXCEEDED")
    listed = await client.get(tenant.base, headers=tenant.headers())
    assert [w["name"] for w in listed.json()["workspaces"]] == ["one"]


async def test_unlimited_by_default(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for i in range(5):
        created = await client.post(tenant.base, json={"name": f"w{i}"}, headers=tenant.headers())
        assert created.status_code == 201


async def first_creates(client: httpx.AsyncClient) -> tuple[str, list[httpx.Response]]:
    """Twenty creates at once in an org first seen in a JWT (no row for it yet)."""
    org_id = f"jwt-org-{uuid.uuid4().hex[:10]}"
    headers = bearer(make_jwt(org_id=org_id, role="owner"))
    responses = await asyncio.gather(
        *(
            client.post(f"/v1/orgs/{org_id}/workspaces", json={"name": f"w{i}"}, headers=headers)
            for i in range(20)
        )
    )
    assert not [r.text for r in responses if r.status_code >= 500]
    return org_id, list(responses)


@pytest.mark.limits(rate_limits=False)
async def test_the_first_creates_of_an_org_named_by_a_jwt_make_it_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The org is created by its first workspace; on PostgreSQL the creates that lost the
    race of a plain INSERT got a unique violation (a 500): now the insert waits and yields."""
    org_id, responses = await first_creates(client)
    assert [r.status_code for r in responses] == [201] * 20
    assert await org_count(app, org_id) == 20


@pytest.mark.limits(rate_limits=False, max_workspaces_per_org=3)
async def test_the_quota_holds_for_the_first_creates_of_an_org(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    org_id, responses = await first_creates(client)
    assert sorted(r.status_code for r in responses) == [201] * 3 + [403] * 17
    assert await org_count(app, org_id) == 3
