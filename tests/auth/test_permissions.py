"""The role -> permission table, enforced on every endpoint for every role."""

from __future__ import annotations

import httpx
import pytest

from mechamental.auth.permissions import ROLE_PERMISSIONS, Permission, Role
from tests.conftest import Tenant
from tests.helpers import assert_403, assert_workspace, create_ws, total

ALL = {
    "workspace:read",
    "workspace:create",
    "workspace:update",
    "workspace:delete",
    "sync:read",
    "presence:write",
    "api_key:manage",
    "webhook:manage",
}
SPEC = {
    "owner": ALL,
    "admin": ALL,
    "member": ALL - {"workspace:delete", "api_key:manage", "webhook:manage"},
    "viewer": {"workspace:read", "sync:read", "presence:write"},
}
ROLES = ["owner", "admin", "member", "viewer"]


def test_the_table_is_the_spec() -> None:
    assert {p.value for p in Permission} == ALL
    assert {r.value for r in Role} == set(SPEC)
    assert {r.value: {p.value for p in perms} for r, perms in ROLE_PERMISSIONS.items()} == SPEC


@pytest.mark.parametrize("role", ROLES)
async def test_list(client: httpx.AsyncClient, tenant: Tenant, role: str) -> None:
    ws = await create_ws(client, tenant)
    response = await client.get(tenant.base, headers=tenant.headers(role))
    if "workspace:read" in SPEC[role]:
        assert response.status_code == 200
        assert [w["workspace_id"] for w in response.json()["workspaces"]] == [ws["workspace_id"]]
    else:
        assert_403(response, "workspace:read")


@pytest.mark.parametrize("role", ROLES)
async def test_get(client: httpx.AsyncClient, tenant: Tenant, role: str) -> None:
    ws = await create_ws(client, tenant)
    response = await client.get(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers(role))
    if "workspace:read" in SPEC[role]:
        assert response.status_code == 200 and response.json() == ws
    else:
        assert_403(response, "workspace:read")


@pytest.mark.parametrize("role", ROLES)
async def test_create(client: httpx.AsyncClient, tenant: Tenant, role: str) -> None:
    response = await client.post(tenant.base, json={"name": "n"}, headers=tenant.headers(role))
    if "workspace:create" in SPEC[role]:
        assert response.status_code == 201
        assert_workspace(response.json())
        assert response.json()["owner_id"] == tenant.users[role]
        assert await total(client, tenant) == 1
    else:
        assert_403(response, "workspace:create")
        assert await total(client, tenant) == 0


@pytest.mark.parametrize("role", ROLES)
async def test_update(client: httpx.AsyncClient, tenant: Tenant, role: str) -> None:
    ws = await create_ws(client, tenant, name="before")
    url = f"{tenant.base}/{ws['workspace_id']}"
    response = await client.put(url, json={"name": "after"}, headers=tenant.headers(role))
    current = (await client.get(url, headers=tenant.headers())).json()
    if "workspace:update" in SPEC[role]:
        assert response.status_code == 200 and response.json()["name"] == "after"
        assert current["name"] == "after"
    else:
        assert_403(response, "workspace:update")
        assert current == ws


@pytest.mark.parametrize("role", ROLES)
async def test_delete(client: httpx.AsyncClient, tenant: Tenant, role: str) -> None:
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}"
    response = await client.delete(url, headers=tenant.headers(role))
    still_there = (await client.get(url, headers=tenant.headers())).status_code == 200
    if "workspace:delete" in SPEC[role]:
        assert response.status_code == 200 and not still_there
    else:
        assert_403(response, "workspace:delete")
        assert still_there


@pytest.mark.parametrize("role", ["member", "viewer"])
async def test_forbidden_beats_not_found_and_validation(
    client: httpx.AsyncClient, tenant: Tenant, role: str
) -> None:
    """A role without the permission learns nothing about ids or bodies."""
    missing = f"{tenant.base}/no-such-id"
    assert_403(await client.delete(missing, headers=tenant.headers(role)), "workspace:delete")
    if role == "viewer":
        bad = await client.post(tenant.base, json={"name": ""}, headers=tenant.headers(role))
        assert_403(bad, "workspace:create")
        put = await client.put(missing, json={"name": "x"}, headers=tenant.headers(role))
        assert_403(put, "workspace:update")


def test_the_readme_table_is_the_table() -> None:
    """README's permission table lists exactly the enforced one."""
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rows = [line for line in readme.splitlines() if line.startswith("| `") and ":" in line]
    table: dict[str, set[str]] = {role: set() for role in ROLES}
    found = set()
    for line in rows:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        name = cells[0].strip("`")
        if name not in ALL or len(cells) != 5:
            continue
        found.add(name)
        for role, cell in zip(ROLES, cells[1:], strict=True):
            if cell == "✓":
                table[role].add(name)
    assert found == ALL
    assert table == {r.value: {p.value for p in perms} for r, perms in ROLE_PERMISSIONS.items()}
