"""The key list pages like the workspace list: live keys, newest first, signed cursors."""

from __future__ import annotations

import httpx

from tests.api_keys.helpers import create_key, keys_url, listed, listed_ids
from tests.conftest import Tenant
from tests.helpers import assert_422, parse_utc


async def test_pages_walk_every_live_key_once_newest_first(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    made = [(await create_key(client, tenant, name=f"k{i}"))["id"] for i in range(5)]
    revoked = await create_key(client, tenant, name="revoked")
    assert (
        await client.delete(keys_url(tenant, revoked["id"]), headers=tenant.headers())
    ).status_code == 204
    everything = await listed_ids(client, tenant)
    assert len(everything) == 4 + 5  # the tenant's four role keys and these five
    assert everything[:5] == made[::-1]
    seen, times, cursor = [], [], None
    while True:
        params = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        page = await listed(client, tenant, **params)
        assert page["total"] == 9
        assert len(page["api_keys"]) == (2 if page["has_more"] else 1)
        seen += [k["id"] for k in page["api_keys"]]
        times += [parse_utc(k["created_at"]) for k in page["api_keys"]]
        cursor = page["next_cursor"]
        assert (cursor is None) == (not page["has_more"])
        if cursor is None:
            break
    assert seen == everything and revoked["id"] not in seen
    assert times == sorted(times, reverse=True)


async def test_default_page_and_exact_fit(client: httpx.AsyncClient, tenant: Tenant) -> None:
    page = await listed(client, tenant)
    assert page["total"] == 4 and len(page["api_keys"]) == 4
    assert page["has_more"] is False and page["next_cursor"] is None
    exact = await listed(client, tenant, limit=4)
    assert exact["has_more"] is False and exact["next_cursor"] is None


async def test_cursors_are_bound_to_the_org_and_the_list(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    cursor = (await listed(client, tenant, limit=1))["next_cursor"]
    assert cursor
    theirs = await client.get(
        keys_url(other_tenant), params={"cursor": cursor}, headers=other_tenant.headers()
    )
    assert_422(theirs, ["query", "cursor"])
    # A workspace list's cursor is not one of this list's (and the reverse).
    for _ in range(2):
        await client.post(tenant.base, json={"name": "w"}, headers=tenant.headers())
    ws_cursor = (
        await client.get(tenant.base, params={"limit": 1}, headers=tenant.headers())
    ).json()["next_cursor"]
    response = await client.get(
        keys_url(tenant), params={"cursor": ws_cursor}, headers=tenant.headers()
    )
    assert_422(response, ["query", "cursor"])
    response = await client.get(tenant.base, params={"cursor": cursor}, headers=tenant.headers())
    assert_422(response, ["query", "cursor"])
    for junk in ("", "abc", "a.b", cursor[:-2]):
        response = await client.get(
            keys_url(tenant), params={"cursor": junk}, headers=tenant.headers()
        )
        if junk == "":
            assert response.status_code == 200  # an empty cursor is the first page
        else:
            assert_422(response, ["query", "cursor"])
