"""The five workspace endpoints: success shapes against the reference, and their semantics."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.conftest import Tenant, create_tenant, make_settings
from tests.helpers import (
    LIST_FIELDS,
    assert_404_workspace,
    assert_422,
    assert_envelope,
    assert_workspace,
    create_ws,
    parse_utc,
    running_app,
    total,
)


async def test_create_returns_201_with_the_reference_shape_and_defaults(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    before = datetime.now(UTC)
    response = await client.post(tenant.base, json={"name": "Design"}, headers=tenant.headers())
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    ws = response.json()
    assert_workspace(ws)
    assert ws["name"] == "Design"
    assert ws["description"] is None
    assert ws["subscription_plan_id"] is None
    assert ws["owner_id"] == tenant.users["owner"]
    assert ws["is_active"] is True
    assert ws["tags"] == []
    assert ws["region"] == "us-east-1"
    assert ws["bucket_status"] == "pending"
    assert ws["bucket_error"] is None
    created = parse_utc(ws["created_at"])
    assert ws["created_at"] == ws["updated_at"]
    assert before - timedelta(seconds=5) <= created <= datetime.now(UTC) + timedelta(seconds=5)


async def test_create_with_every_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    body = {
        "organization_id": tenant.org_id,
        "name": "  Research  ",
        "description": "Notes and datasets",
        "subscription_plan_id": "plan-pro",
        "is_active": False,
        "tags": ["ml", "team:core", "ml", "v1.2", "team:core", "a_b-c"],
        "region": "eu-west-1",
    }
    response = await client.post(tenant.base, json=body, headers=tenant.headers("admin"))
    assert response.status_code == 201, response.text
    ws = response.json()
    assert_workspace(ws)
    assert ws["name"] == "Research"  # trimmed
    assert ws["description"] == "Notes and datasets"
    assert ws["subscription_plan_id"] == "plan-pro"
    assert ws["is_active"] is False
    assert ws["tags"] == ["ml", "team:core", "v1.2", "a_b-c"]  # deduplicated, order kept
    assert ws["region"] == "eu-west-1"
    assert ws["owner_id"] == tenant.users["admin"]
    got = await client.get(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    assert got.json() == ws


async def test_owner_is_the_calling_user(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ws = await create_ws(client, tenant, role="member")
    assert ws["owner_id"] == tenant.users["member"] != tenant.users["owner"]


async def test_ids_unique_time_ordered_and_buckets_unique(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    made = [await create_ws(client, tenant, name=f"w{i}") for i in range(5)]
    made.append(await create_ws(client, other_tenant, name="w5"))
    ids = [w["workspace_id"] for w in made]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)  # time-ordered: later ids sort after earlier ones
    buckets = [w["s3_bucket"] for w in made]
    assert len(set(buckets)) == len(buckets)
    for bucket in buckets:
        assert 3 <= len(bucket) <= 63 and bucket == bucket.lower() and "." not in bucket
    created = [parse_utc(w["created_at"]) for w in made]
    assert created == sorted(created)


async def test_get_matches_create_and_has_an_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await create_ws(client, tenant, name="Alpha", tags=["x"])
    response = await client.get(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    assert response.status_code == 200
    assert response.json() == ws
    etag = response.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    again = await client.get(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    assert again.headers["etag"] == etag


async def test_list_shape(client: httpx.AsyncClient, tenant: Tenant) -> None:
    a = await create_ws(client, tenant, name="A")
    b = await create_ws(client, tenant, name="B", tags=["t"])
    response = await client.get(tenant.base, headers=tenant.headers("viewer"))
    assert response.status_code == 200
    page = response.json()
    assert set(page) == LIST_FIELDS
    assert page["total"] == 2 and page["has_more"] is False and page["next_cursor"] is None
    for ws in page["workspaces"]:
        assert_workspace(ws)
    assert page["workspaces"] == [b, a]  # newest first, same representation as create


async def test_update_is_partial_and_bumps_updated_at_and_etag(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await create_ws(
        client, tenant, name="Old", description="keep", tags=["a"], subscription_plan_id="p"
    )
    url = f"{tenant.base}/{ws['workspace_id']}"
    etag_before = (await client.get(url, headers=tenant.headers())).headers["etag"]
    response = await client.put(url, json={"name": "  New  "}, headers=tenant.headers("member"))
    assert response.status_code == 200, response.text
    updated = response.json()
    assert_workspace(updated)
    assert updated["name"] == "New"
    for field in ("workspace_id", "description", "tags", "subscription_plan_id", "owner_id",
                  "region", "s3_bucket", "is_active", "created_at"):  # fmt: skip
        assert updated[field] == ws[field], field
    assert parse_utc(updated["updated_at"]) > parse_utc(ws["updated_at"])
    assert response.headers["etag"] != etag_before
    got = await client.get(url, headers=tenant.headers())
    assert got.json() == updated
    assert got.headers["etag"] == response.headers["etag"]


async def test_update_each_field(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ws = await create_ws(client, tenant, tags=["a", "b"])
    url = f"{tenant.base}/{ws['workspace_id']}"
    h = tenant.headers()
    r = await client.put(url, json={"description": "d", "subscription_plan_id": "p1"}, headers=h)
    assert (r.json()["description"], r.json()["subscription_plan_id"]) == ("d", "p1")
    r = await client.put(url, json={"description": None, "subscription_plan_id": None}, headers=h)
    assert (r.json()["description"], r.json()["subscription_plan_id"]) == (None, None)
    r = await client.put(url, json={"tags": ["c", "c", "a"]}, headers=h)
    assert r.json()["tags"] == ["c", "a"]
    r = await client.put(url, json={"tags": []}, headers=h)
    assert r.json()["tags"] == []
    r = await client.put(url, json={"is_active": False}, headers=h)
    assert r.json()["is_active"] is False
    final = (await client.get(url, headers=h)).json()
    assert final == r.json()
    assert final["name"] == ws["name"] and final["created_at"] == ws["created_at"]


async def test_empty_put_changes_nothing(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ws = await create_ws(client, tenant, name="Same", tags=["t"])
    url = f"{tenant.base}/{ws['workspace_id']}"
    before = await client.get(url, headers=tenant.headers())
    await asyncio.sleep(0.01)
    response = await client.put(url, json={}, headers=tenant.headers())
    assert response.status_code == 200
    assert response.json() == before.json() == ws
    assert response.headers["etag"] == before.headers["etag"]
    after = await client.get(url, headers=tenant.headers())
    assert after.json()["updated_at"] == ws["updated_at"]
    assert after.headers["etag"] == before.headers["etag"]


async def test_put_with_unchanged_values_does_not_bump(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await create_ws(client, tenant, name="Same", tags=["t", "u"], description=None)
    url = f"{tenant.base}/{ws['workspace_id']}"
    etag = (await client.get(url, headers=tenant.headers())).headers["etag"]
    same = {"name": "Same", "tags": ["t", "u"], "is_active": True, "description": None,
            "region": ws["region"]}  # fmt: skip
    response = await client.put(url, json=same, headers=tenant.headers())
    assert response.status_code == 200
    assert response.json() == ws
    assert response.headers["etag"] == etag


async def test_region_cannot_change(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ws = await create_ws(client, tenant, region="eu-west-1")
    url = f"{tenant.base}/{ws['workspace_id']}"
    response = await client.put(
        url, json={"region": "us-east-1", "name": "x"}, headers=tenant.headers()
    )
    errors = assert_422(response, ["body", "region"])
    assert any("region" in e["msg"].lower() for e in errors)
    assert (await client.get(url, headers=tenant.headers())).json() == ws  # name unchanged too
    ok = await client.put(url, json={"region": "eu-west-1"}, headers=tenant.headers())
    assert ok.status_code == 200 and ok.json()["region"] == "eu-west-1"


async def test_delete_then_gone_everywhere(client: httpx.AsyncClient, tenant: Tenant) -> None:
    keep = await create_ws(client, tenant, name="keep")
    ws = await create_ws(client, tenant, name="gone")
    url = f"{tenant.base}/{ws['workspace_id']}"
    assert await total(client, tenant) == 2
    response = await client.delete(url, headers=tenant.headers("admin"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"message"} and isinstance(body["message"], str) and body["message"]
    assert_404_workspace(await client.get(url, headers=tenant.headers()), ws["workspace_id"])
    assert_404_workspace(
        await client.put(url, json={"name": "x"}, headers=tenant.headers()), ws["workspace_id"]
    )
    assert_404_workspace(await client.delete(url, headers=tenant.headers()), ws["workspace_id"])
    page = (await client.get(tenant.base, headers=tenant.headers())).json()
    assert [w["workspace_id"] for w in page["workspaces"]] == [keep["workspace_id"]]
    assert page["total"] == 1


async def test_if_match_on_put(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ws = await create_ws(client, tenant, name="v1")
    url = f"{tenant.base}/{ws['workspace_id']}"
    h = tenant.headers()
    etag1 = (await client.get(url, headers=h)).headers["etag"]
    ok = await client.put(url, json={"name": "v2"}, headers={**h, "If-Match": etag1})
    assert ok.status_code == 200 and ok.json()["name"] == "v2"
    etag2 = ok.headers["etag"]
    assert etag2 != etag1
    stale = await client.put(url, json={"name": "v3"}, headers={**h, "If-Match": etag1})
    assert_envelope(stale, 412, "PRECONDITION_FAILED")
    assert (await client.get(url, headers=h)).json()["name"] == "v2"
    star = await client.put(url, json={"name": "v4"}, headers={**h, "If-Match": "*"})
    assert star.status_code == 200 and star.json()["name"] == "v4"
    listed = f'"nope", {star.headers["etag"]}'
    many = await client.put(url, json={"name": "v5"}, headers={**h, "If-Match": listed})
    assert many.status_code == 200 and many.json()["name"] == "v5"
    # An empty update with a stale tag is still refused.
    assert_envelope(
        await client.put(url, json={}, headers={**h, "If-Match": etag2}), 412, "PRECONDITION_FAILED"
    )


async def test_if_match_on_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}"
    h = tenant.headers()
    etag = (await client.get(url, headers=h)).headers["etag"]
    await client.put(url, json={"name": "changed"}, headers=h)
    stale = await client.delete(url, headers={**h, "If-Match": etag})
    assert_envelope(stale, 412, "PRECONDITION_FAILED")
    assert (await client.get(url, headers=h)).status_code == 200
    current = (await client.get(url, headers=h)).headers["etag"]
    assert (await client.delete(url, headers={**h, "If-Match": current})).status_code == 200
    assert (await client.get(url, headers=h)).status_code == 404


async def test_if_match_on_missing_workspace_is_404(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    url = f"{tenant.base}/missing-id"
    response = await client.put(url, json={}, headers={**tenant.headers(), "If-Match": '"x"'})
    assert_404_workspace(response, "missing-id")


async def test_concurrent_conditional_updates_only_one_wins(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}"
    etag = (await client.get(url, headers=tenant.headers())).headers["etag"]
    responses = await asyncio.gather(
        *(
            client.put(url, json={"name": f"n{i}"}, headers={**tenant.headers(), "If-Match": etag})
            for i in range(4)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 412, 412, 412]
    winner = next(r for r in responses if r.status_code == 200)
    assert (await client.get(url, headers=tenant.headers())).json() == winner.json()


async def test_if_none_match_gives_304(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}"
    h = tenant.headers("viewer")
    etag = (await client.get(url, headers=h)).headers["etag"]
    for value in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        cached = await client.get(url, headers={**h, "If-None-Match": value})
        assert cached.status_code == 304, value
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        assert cached.headers["x-request-id"]
    changed = await client.put(url, json={"name": "new"}, headers=tenant.headers())
    fresh = await client.get(url, headers={**h, "If-None-Match": etag})
    assert fresh.status_code == 200
    assert fresh.json() == changed.json()
    assert fresh.headers["etag"] == changed.headers["etag"] != etag


async def test_default_and_allowed_regions_come_from_settings(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        default_region="eu-central-1",
        allowed_regions=("eu-central-1", "eu-west-1"),
    )
    async with running_app(settings) as (application, c):
        t = await create_tenant(application.state.services.db, "regions")
        assert (await create_ws(c, t))["region"] == "eu-central-1"
        assert (await create_ws(c, t, region="eu-west-1"))["region"] == "eu-west-1"
        refused = await c.post(
            t.base, json={"name": "x", "region": "us-east-1"}, headers=t.headers()
        )
        assert_422(refused, ["body", "region"])
        assert await total(c, t) == 2
