"""Tenancy: no endpoint reveals or changes another org's workspaces, or admits its tokens."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.helpers import assert_403, assert_404_workspace, assert_envelope, create_ws, total

# (method, item endpoint?, permission, body)
ENDPOINTS: list[tuple[str, bool, str, dict[str, Any] | None]] = [
    ("GET", False, "workspace:read", None),
    ("POST", False, "workspace:create", {"name": "intruder"}),
    ("GET", True, "workspace:read", None),
    ("PUT", True, "workspace:update", {"name": "hijacked"}),
    ("DELETE", True, "workspace:delete", None),
]
IDS = ["list", "create", "get", "update", "delete"]


async def call(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    body: dict[str, Any] | None,
) -> httpx.Response:
    return await client.request(method, url, json=body, headers=headers)


@pytest.mark.parametrize(("method", "item", "permission", "body"), ENDPOINTS, ids=IDS)
@pytest.mark.parametrize("role", ["owner", "viewer"])
async def test_other_orgs_token_on_my_path_is_403(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    method: str,
    item: bool,
    permission: str,
    body: dict[str, Any] | None,
    role: str,
) -> None:
    mine = await create_ws(client, tenant, name="mine")
    url = f"{tenant.base}/{mine['workspace_id']}" if item else tenant.base
    response = await call(client, method, url, other_tenant.headers(role), body)
    assert_403(response, permission)
    # Nothing changed on my side, nothing appeared on theirs.
    got = await client.get(f"{tenant.base}/{mine['workspace_id']}", headers=tenant.headers())
    assert got.status_code == 200 and got.json() == mine
    assert await total(client, tenant) == 1
    assert await total(client, other_tenant) == 0


@pytest.mark.parametrize(("method", "item", "permission", "body"), ENDPOINTS, ids=IDS)
async def test_403_does_not_reveal_whether_the_org_or_workspace_exists(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    method: str,
    item: bool,
    permission: str,
    body: dict[str, Any] | None,
) -> None:
    theirs = await create_ws(client, other_tenant)
    real = f"{other_tenant.base}/{theirs['workspace_id']}" if item else other_tenant.base
    ghost = "/v1/orgs/no-such-org/workspaces" + ("/no-such-ws" if item else "")
    a = await call(client, method, real, tenant.headers(), body)
    b = await call(client, method, ghost, tenant.headers(), body)
    assert_403(a, permission)
    assert_403(b, permission)
    strip = lambda r: {k: v for k, v in r.json().items() if k != "timestamp"}  # noqa: E731
    assert strip(a) == strip(b)
    assert await total(client, other_tenant) == 1


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PUT", {"name": "x"}),
                                              ("DELETE", None)])  # fmt: skip
async def test_other_orgs_workspace_under_my_org_is_404(
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    method: str,
    body: dict[str, Any] | None,
) -> None:
    theirs = await create_ws(client, other_tenant, name="secret", tags=["t"])
    their_url = f"{other_tenant.base}/{theirs['workspace_id']}"
    their_etag = (await client.get(their_url, headers=other_tenant.headers())).headers["etag"]
    for role in ("owner", "admin"):
        url = f"{tenant.base}/{theirs['workspace_id']}"
        foreign = await call(client, method, url, tenant.headers(role), body)
        assert_404_workspace(foreign, theirs["workspace_id"])
        # Exactly what a workspace id that exists nowhere gets.
        missing = await call(client, method, f"{tenant.base}/00000000-nope", tenant.headers(role),
                             body)  # fmt: skip
        assert_404_workspace(missing, "00000000-nope")
        assert foreign.json()["message"] == missing.json()["message"]
    after = await client.get(their_url, headers=other_tenant.headers())
    assert after.status_code == 200 and after.json() == theirs
    assert after.headers["etag"] == their_etag


async def test_if_match_star_does_not_cross_orgs(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_ws(client, other_tenant)
    url = f"{tenant.base}/{theirs['workspace_id']}"
    headers = {**tenant.headers(), "If-Match": "*"}
    assert_404_workspace(await client.put(url, json={"name": "x"}, headers=headers),
                         theirs["workspace_id"])  # fmt: skip
    assert_404_workspace(await client.delete(url, headers=headers), theirs["workspace_id"])
    cached = await client.get(url, headers={**tenant.headers(), "If-None-Match": "*"})
    assert_404_workspace(cached, theirs["workspace_id"])
    assert await total(client, other_tenant) == 1


async def test_list_and_filters_never_show_another_org(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    mine = await create_ws(client, tenant, name="shared-name", tags=["common"])
    await create_ws(client, other_tenant, name="shared-name", tags=["common"])
    await create_ws(client, other_tenant, name="only-theirs-xyz", tags=["theirs"])
    for params in ({}, {"q": "shared"}, {"tag": "common"}, {"q": "xyz"}, {"tag": "theirs"},
                   {"region": "us-east-1"}, {"is_active": "true"}, {"limit": 200}):  # fmt: skip
        page = (await client.get(tenant.base, params=params, headers=tenant.headers())).json()
        found = [w["workspace_id"] for w in page["workspaces"]]
        assert set(found) <= {mine["workspace_id"]}, params
        assert page["total"] == len(found), params


async def test_creating_in_one_org_leaves_the_others_count(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    for i in range(3):
        await create_ws(client, tenant, name=f"m{i}")
    ws = await create_ws(client, other_tenant)
    assert await total(client, tenant) == 3
    assert await total(client, other_tenant) == 1
    await client.delete(f"{other_tenant.base}/{ws['workspace_id']}",
                        headers=other_tenant.headers())  # fmt: skip
    assert await total(client, tenant) == 3
    assert await total(client, other_tenant) == 0


async def test_create_with_other_orgs_id_in_body_is_422(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    response = await client.post(
        tenant.base,
        json={"name": "x", "organization_id": other_tenant.org_id},
        headers=tenant.headers(),
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "organization_id"]
    listed = await client.get(
        tenant.base, params={"organization_id": other_tenant.org_id}, headers=tenant.headers()
    )
    assert listed.status_code == 422
    assert listed.json()["detail"][0]["loc"] == ["query", "organization_id"]
    assert await total(client, tenant) == 0
    assert await total(client, other_tenant) == 0


async def test_unauthenticated_probe_of_another_org_is_plain_401(
    client: httpx.AsyncClient, other_tenant: Tenant
) -> None:
    theirs = await create_ws(client, other_tenant)
    for url in (other_tenant.base, f"{other_tenant.base}/{theirs['workspace_id']}",
                "/v1/orgs/no-such-org/workspaces/x"):  # fmt: skip
        response = await client.get(url)
        assert_envelope(response, 401, "AUTHENTICATION_FAILED", {})
