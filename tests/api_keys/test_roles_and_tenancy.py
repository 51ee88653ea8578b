"""Who may manage keys (owners and admins), owner keys for owners only, and tenancy."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from tests.api_keys.helpers import assert_key, create_key, keys_url, listed, listed_ids
from tests.conftest import Tenant
from tests.helpers import assert_401, assert_403, assert_envelope, bearer, make_jwt

OWNER_ONLY = {"required_permission": "api_key:manage", "required_role": "owner"}


def assert_404_key(response: httpx.Response, key_id: str) -> None:
    assert_envelope(
        response, 404, "RESOURCE_NOT_FOUND", {"resource_type": "api_key", "resource_id": key_id}
    )


async def _all_endpoints(
    client: httpx.AsyncClient, tenant: Tenant, role: str, key_id: str
) -> list[httpx.Response]:
    headers = tenant.headers(role)
    body: dict[str, Any] = {"name": "n", "role": "viewer"}
    return [
        await client.get(keys_url(tenant), headers=headers),
        await client.post(keys_url(tenant), json=body, headers=headers),
        await client.get(keys_url(tenant, key_id), headers=headers),
        await client.delete(keys_url(tenant, key_id), headers=headers),
    ]


@pytest.mark.parametrize("role", ["owner", "admin"])
async def test_owners_and_admins_manage_keys(
    client: httpx.AsyncClient, tenant: Tenant, role: str
) -> None:
    victim = await create_key(client, tenant, role="viewer")
    listing, made, got, revoked = await _all_endpoints(client, tenant, role, victim["id"])
    assert listing.status_code == 200 and victim["id"] in {
        k["id"] for k in listing.json()["api_keys"]
    }
    assert made.status_code == 201 and made.json()["role"] == "viewer"
    assert got.status_code == 200 and got.json() == {
        k: v for k, v in victim.items() if k != "secret"
    }
    assert revoked.status_code == 204 and revoked.content == b""


@pytest.mark.parametrize("role", ["member", "viewer"])
async def test_members_and_viewers_are_403_everywhere(
    client: httpx.AsyncClient, tenant: Tenant, role: str
) -> None:
    victim = await create_key(client, tenant, role="viewer")
    for response in await _all_endpoints(client, tenant, role, victim["id"]):
        assert_403(response, "api_key:manage")
    # Nothing was made or revoked, and a bad body or unknown id reveals nothing either.
    assert victim["id"] in await listed_ids(client, tenant)
    bad = await client.post(keys_url(tenant), json={"role": "x"}, headers=tenant.headers(role))
    assert_403(bad, "api_key:manage")
    missing = await client.delete(keys_url(tenant, "no-such-key"), headers=tenant.headers(role))
    assert_403(missing, "api_key:manage")


async def test_an_admin_cannot_mint_an_owner_key(client: httpx.AsyncClient, tenant: Tenant) -> None:
    before = await listed_ids(client, tenant)
    response = await client.post(
        keys_url(tenant),
        json={"name": "escalate", "role": "owner"},
        headers=tenant.headers("admin"),
    )
    body = assert_envelope(response, 403, "FORBIDDEN", OWNER_ONLY)
    assert "owner" in body["message"]
    assert await listed_ids(client, tenant) == before
    for role in ("admin", "member", "viewer"):
        assert (await create_key(client, tenant, "admin", role=role))["role"] == role
    assert (await create_key(client, tenant, "owner", role="owner"))["role"] == "owner"


async def test_an_admin_cannot_revoke_an_owner_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    owner_key = await create_key(client, tenant, role="owner")
    response = await client.delete(
        keys_url(tenant, owner_key["id"]), headers=tenant.headers("admin")
    )
    assert_envelope(response, 403, "FORBIDDEN", OWNER_ONLY)
    assert (await client.get(tenant.base, headers=bearer(owner_key["secret"]))).status_code == 200
    # An admin may read it, and an owner may revoke it.
    got = await client.get(keys_url(tenant, owner_key["id"]), headers=tenant.headers("admin"))
    assert got.status_code == 200 and got.json()["role"] == "owner"
    gone = await client.delete(keys_url(tenant, owner_key["id"]), headers=tenant.headers("owner"))
    assert gone.status_code == 204
    assert_401(await client.get(tenant.base, headers=bearer(owner_key["secret"])))


async def test_another_orgs_key_is_404(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_key(client, other_tenant, role="viewer")
    for role in ("owner", "admin"):
        headers = tenant.headers(role)
        assert_404_key(
            await client.get(keys_url(tenant, theirs["id"]), headers=headers), theirs["id"]
        )
        gone = await client.delete(keys_url(tenant, theirs["id"]), headers=headers)
        assert_404_key(gone, theirs["id"])
    assert theirs["id"] not in await listed_ids(client, tenant)
    # Their key is untouched: still listed there, still a credential.
    assert theirs["id"] in await listed_ids(client, other_tenant)
    assert (
        await client.get(other_tenant.base, headers=bearer(theirs["secret"]))
    ).status_code == 200


async def test_another_orgs_list_is_403_and_never_shows_their_keys(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    theirs = await create_key(client, other_tenant)
    for method, url in (
        ("GET", keys_url(other_tenant)),
        ("POST", keys_url(other_tenant)),
        ("GET", keys_url(other_tenant, theirs["id"])),
        ("DELETE", keys_url(other_tenant, theirs["id"])),
    ):
        body = {"name": "n", "role": "viewer"} if method == "POST" else None
        response = await client.request(method, url, json=body, headers=tenant.headers())
        assert_403(response, "api_key:manage")
    mine = await listed(client, tenant, limit=200)
    assert theirs["id"] not in {k["id"] for k in mine["api_keys"]}
    assert {k["user_id"] for k in mine["api_keys"]} <= set(tenant.users.values())
    assert theirs["id"] in await listed_ids(client, other_tenant)


async def test_unknown_and_revoked_keys_are_404(client: httpx.AsyncClient, tenant: Tenant) -> None:
    key = await create_key(client, tenant)
    assert_404_key(
        await client.get(keys_url(tenant, "no-such-key"), headers=tenant.headers()), "no-such-key"
    )
    gone = await client.delete(keys_url(tenant, "no-such-key"), headers=tenant.headers())
    assert_404_key(gone, "no-such-key")
    assert (
        await client.delete(keys_url(tenant, key["id"]), headers=tenant.headers())
    ).status_code == 204
    again = await client.delete(keys_url(tenant, key["id"]), headers=tenant.headers())
    assert_404_key(again, key["id"])
    assert_404_key(
        await client.get(keys_url(tenant, key["id"]), headers=tenant.headers()), key["id"]
    )
    assert key["id"] not in await listed_ids(client, tenant)


async def test_the_secret_is_shown_once(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create_key(client, tenant, name="shown once")
    secret = created["secret"]
    page = await client.get(keys_url(tenant), headers=tenant.headers())
    one = await client.get(keys_url(tenant, created["id"]), headers=tenant.headers())
    for response in (page, one):
        assert response.status_code == 200
        assert secret not in response.text and "secret" not in response.text
        assert secret.removeprefix("mm_") not in response.text
    assert_key(one.json())
    assert one.json() == {k: v for k, v in created.items() if k != "secret"}


async def test_a_new_key_works_as_a_bearer_and_a_revoked_one_is_401(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create_key(client, tenant, role="member", user_id="robot", name="ci")
    assert created["user_id"] == "robot" and created["name"] == "ci"
    key = bearer(created["secret"])
    ws = await client.post(tenant.base, json={"name": "made by a key"}, headers=key)
    assert ws.status_code == 201 and ws.json()["owner_id"] == "robot"
    # The role is the key's: a member key cannot delete, nor manage keys.
    assert_403(
        await client.delete(f"{tenant.base}/{ws.json()['workspace_id']}", headers=key),
        "workspace:delete",
    )
    assert_403(await client.get(keys_url(tenant), headers=key), "api_key:manage")
    revoked = await client.delete(keys_url(tenant, created["id"]), headers=tenant.headers("admin"))
    assert revoked.status_code == 204
    assert_401(await client.get(tenant.base, headers=key))
    assert_401(await client.get(f"{tenant.base}/{ws.json()['workspace_id']}", headers=key))


async def test_user_id_defaults_to_the_callers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    assert (await create_key(client, tenant, "admin"))["user_id"] == tenant.users["admin"]
    assert (await create_key(client, tenant, "owner", user_id=None))["user_id"] == tenant.users[
        "owner"
    ]


async def test_expired_keys_are_not_live(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    async with app.state.services.db.transaction() as conn:
        issued = await tokens.create_token(
            conn,
            org_id=tenant.org_id,
            user_id="u",
            role=Role.VIEWER,
            expires_in=timedelta(seconds=-1),
        )
    assert issued.id not in await listed_ids(client, tenant)
    assert_404_key(
        await client.get(keys_url(tenant, issued.id), headers=tenant.headers()), issued.id
    )
    assert_404_key(
        await client.delete(keys_url(tenant, issued.id), headers=tenant.headers()), issued.id
    )


async def test_a_jwt_admin_of_an_org_without_a_row_mints_keys(client: httpx.AsyncClient) -> None:
    org = Tenant(org_id=f"jwt-only-{uuid.uuid4().hex[:10]}")
    org.tokens["owner"] = make_jwt(org_id=org.org_id, sub="idp-owner", role="owner")
    org.tokens["admin"] = make_jwt(org_id=org.org_id, sub="idp-admin", role="admin")
    created = await create_key(client, org, "admin", role="viewer")
    assert created["user_id"] == "idp-admin"
    response = await client.get(
        f"/v1/orgs/{org.org_id}/workspaces", headers=bearer(created["secret"])
    )
    assert response.status_code == 200
    assert await listed_ids(client, org) == [created["id"]]
