"""Keyset pagination: walks, totals, filters, cursors, and stability under concurrent writes."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpx

from tests.conftest import Tenant
from tests.helpers import assert_422, assert_workspace, create_ws, parse_utc


async def walk(
    client: httpx.AsyncClient, tenant: Tenant, limit: int, **filters: Any
) -> list[dict[str, Any]]:
    """Every page of a list walk, checking the per-page invariants."""
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit, **filters}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get(tenant.base, params=params, headers=tenant.headers("viewer"))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["workspaces"]) <= limit
        pages.append(page)
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return pages
        assert isinstance(page["next_cursor"], str) and page["next_cursor"]
        assert len(page["workspaces"]) == limit
        cursor = page["next_cursor"]
        assert len(pages) < 500, "walk does not end"


def ids(pages: list[dict[str, Any]]) -> list[str]:
    return [w["workspace_id"] for p in pages for w in p["workspaces"]]


def assert_newest_first(items: list[dict[str, Any]]) -> None:
    keys = [(parse_utc(w["created_at"]), w["workspace_id"]) for w in items]
    assert keys == sorted(keys, reverse=True)
    assert len(set(keys)) == len(keys)


async def test_empty_org(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(tenant.base, headers=tenant.headers())
    assert response.json() == {"total": 0, "has_more": False, "next_cursor": None, "workspaces": []}


async def test_walk_visits_everything_once_newest_first(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    made = [await create_ws(client, tenant, name=f"w{i}") for i in range(7)]
    pages = await walk(client, tenant, limit=3)
    assert [len(p["workspaces"]) for p in pages] == [3, 3, 1]
    assert [p["has_more"] for p in pages] == [True, True, False]
    assert all(p["total"] == 7 for p in pages)
    assert ids(pages) == [w["workspace_id"] for w in reversed(made)]
    items = [w for p in pages for w in p["workspaces"]]
    assert items == list(reversed(made))
    assert_newest_first(items)


async def test_exact_multiple_needs_no_empty_last_page(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for i in range(4):
        await create_ws(client, tenant, name=f"w{i}")
    pages = await walk(client, tenant, limit=2)
    assert [len(p["workspaces"]) for p in pages] == [2, 2]
    assert pages[-1]["has_more"] is False and pages[-1]["next_cursor"] is None


async def test_default_limit_is_50(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for i in range(51):
        await create_ws(client, tenant, name=f"w{i}")
    page = (await client.get(tenant.base, headers=tenant.headers())).json()
    assert len(page["workspaces"]) == 50
    assert page["has_more"] is True and page["total"] == 51
    rest = (
        await client.get(
            tenant.base, params={"cursor": page["next_cursor"]}, headers=tenant.headers()
        )
    ).json()
    assert len(rest["workspaces"]) == 1 and rest["has_more"] is False


async def test_total_follows_creates_and_deletes(client: httpx.AsyncClient, tenant: Tenant) -> None:
    made = [await create_ws(client, tenant, name=f"w{i}") for i in range(3)]
    for ws in made:
        await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    await create_ws(client, tenant)
    page = (await client.get(tenant.base, params={"limit": 1}, headers=tenant.headers())).json()
    assert page["total"] == 1 and page["has_more"] is False


async def test_filters_and_their_totals(client: httpx.AsyncClient, tenant: Tenant) -> None:
    specs: list[dict[str, Any]] = [
        {"name": "Alpha Team", "tags": ["red", "blue"], "region": "eu-west-1"},
        {"name": "alphabet", "tags": ["red"], "is_active": False},
        {"name": "Beta", "tags": ["blue"], "region": "eu-west-1", "is_active": False},
        {"name": "GAMMA alpha", "tags": []},
        {"name": "100% done", "tags": ["green"]},
        {"name": "snake_case", "tags": ["green", "red"]},
        {"name": "1000 done", "tags": []},
    ]
    made = {s["name"]: await create_ws(client, tenant, **s) for s in specs}

    async def names(**filters: Any) -> set[str]:
        pages = await walk(client, tenant, limit=2, **filters)
        found = [w for p in pages for w in p["workspaces"]]
        assert_newest_first(found)
        assert all(p["total"] == len(found) for p in pages)
        for ws in found:
            assert_workspace(ws)
            assert ws == made[ws["name"]]
        return {w["name"] for w in found}

    everyone = set(made)
    assert await names() == everyone
    assert await names(is_active="true") == everyone - {"alphabet", "Beta"}
    assert await names(is_active="false") == {"alphabet", "Beta"}
    assert await names(tag="red") == {"Alpha Team", "alphabet", "snake_case"}
    assert await names(tag="blue", is_active="false") == {"Beta"}
    assert await names(tag="missing") == set()
    assert await names(region="eu-west-1") == {"Alpha Team", "Beta"}
    assert await names(region="us-east-1") == everyone - {"Alpha Team", "Beta"}
    assert await names(q="ALPHA") == {"Alpha Team", "alphabet", "GAMMA alpha"}
    assert await names(q="pha t") == {"Alpha Team"}
    assert await names(q="%") == {"100% done"}  # LIKE wildcards are literal
    assert await names(q="_") == {"snake_case"}
    assert await names(q="0% d") == {"100% done"}
    assert await names(q="alpha", tag="red", region="eu-west-1") == {"Alpha Team"}
    assert await names(q="zzz") == set()


async def test_tag_filter_follows_updates_and_deletes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await create_ws(client, tenant, tags=["old", "keep"])
    url = f"{tenant.base}/{ws['workspace_id']}"
    await client.put(url, json={"tags": ["new", "keep"]}, headers=tenant.headers())

    async def tagged(tag: str) -> list[str]:
        page = (await client.get(tenant.base, params={"tag": tag}, headers=tenant.headers())).json()
        assert page["total"] == len(page["workspaces"])
        return [w["workspace_id"] for w in page["workspaces"]]

    assert await tagged("old") == []
    assert await tagged("new") == [ws["workspace_id"]]
    assert await tagged("keep") == [ws["workspace_id"]]
    await client.delete(url, headers=tenant.headers())
    assert await tagged("keep") == []


async def test_filter_values_that_cannot_match(client: httpx.AsyncClient, tenant: Tenant) -> None:
    await create_ws(client, tenant, name="a\tb", tags=["t"])
    for params in ({"q": "a\x00"}, {"tag": "t\x00"}, {"region": "us-east-1\x00"}, {"tag": ""}):
        response = await client.get(tenant.base, params=params, headers=tenant.headers())
        assert response.status_code == 200, (params, response.text)
        assert response.json()["workspaces"] == [] and response.json()["total"] == 0


async def test_cursor_keeps_working_after_its_item_is_deleted(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    made = [await create_ws(client, tenant, name=f"w{i}") for i in range(5)]
    first = (await client.get(tenant.base, params={"limit": 2}, headers=tenant.headers())).json()
    for ws in first["workspaces"]:  # the cursor's own position disappears
        await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    rest = (
        await client.get(
            tenant.base,
            params={"limit": 10, "cursor": first["next_cursor"]},
            headers=tenant.headers(),
        )
    ).json()
    assert [w["workspace_id"] for w in rest["workspaces"]] == [
        w["workspace_id"] for w in reversed(made[:3])
    ]
    assert rest["total"] == 3


async def test_walk_under_interleaved_inserts_and_deletes(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    rng = random.Random(7)
    labels = ["stable"] * 12 + ["doomed"] * 8
    rng.shuffle(labels)  # survivors and victims interleaved in creation order
    stable: list[str] = []
    doomed: list[str] = []
    for label in labels:
        ws = await create_ws(client, tenant, name=label)
        (stable if label == "stable" else doomed).append(ws["workspace_id"])
    inserted: list[str] = []
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get(tenant.base, params=params, headers=tenant.headers())).json()
        seen.extend(w["workspace_id"] for w in page["workspaces"])
        assert_newest_first(page["workspaces"])
        # Between pages: new workspaces arrive, some doomed ones (seen or not) disappear.
        for _ in range(2):
            inserted.append((await create_ws(client, tenant, name="new"))["workspace_id"])
        if doomed:
            victim = doomed.pop(rng.randrange(len(doomed)))
            gone = await client.delete(f"{tenant.base}/{victim}", headers=tenant.headers())
            assert gone.status_code == 200
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)), "an item appeared twice"
    assert set(stable) <= set(seen), "an item that existed for the whole walk was skipped"
    assert not set(seen) & set(inserted)  # newer than the walk's position: never reached
    assert seen == sorted(seen, reverse=True)  # ids are time-ordered: newest first overall


async def test_walks_concurrent_with_writers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    stable = {(await create_ws(client, tenant, name=f"s{i}"))["workspace_id"] for i in range(15)}
    doomed = [(await create_ws(client, tenant, name=f"d{i}"))["workspace_id"] for i in range(10)]
    done = asyncio.Event()

    async def walker() -> list[str]:
        found: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            r = await client.get(tenant.base, params=params, headers=tenant.headers("viewer"))
            assert r.status_code == 200, r.text
            page = r.json()
            found.extend(w["workspace_id"] for w in page["workspaces"])
            await asyncio.sleep(0)
            if not page["has_more"]:
                return found
            cursor = page["next_cursor"]

    async def inserter() -> None:
        while not done.is_set():
            await create_ws(client, tenant, name="live")
            await asyncio.sleep(0)

    async def deleter() -> None:
        for victim in doomed:
            r = await client.delete(f"{tenant.base}/{victim}", headers=tenant.headers())
            assert r.status_code == 200
            await asyncio.sleep(0)

    async def walkers() -> list[list[str]]:
        try:
            return list(await asyncio.gather(walker(), walker(), walker()))
        finally:
            done.set()

    results, _, _ = await asyncio.gather(walkers(), inserter(), deleter())
    for found in results:
        assert len(found) == len(set(found))
        assert stable <= set(found)
        assert found == sorted(found, reverse=True)


async def test_cursor_is_bound_to_its_org(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    for i in range(3):
        await create_ws(client, other_tenant, name=f"o{i}")
        await create_ws(client, tenant, name=f"m{i}")
    theirs = (
        await client.get(other_tenant.base, params={"limit": 1}, headers=other_tenant.headers())
    ).json()["next_cursor"]
    assert theirs
    response = await client.get(tenant.base, params={"cursor": theirs}, headers=tenant.headers())
    assert_422(response, ["query", "cursor"])
