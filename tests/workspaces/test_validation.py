"""422 in FastAPI's shape for every rule of the create, update and list inputs; nothing changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.helpers import assert_422, assert_workspace, create_ws, total

MANY_TAGS = [f"t{i}" for i in range(51)]

BAD_CREATE: list[tuple[Any, list[str | int]]] = [
    ({}, ["body", "name"]),
    ({"name": ""}, ["body", "name"]),
    ({"name": "   \t "}, ["body", "name"]),
    ({"name": "a" * 101}, ["body", "name"]),
    ({"name": None}, ["body", "name"]),
    ({"name": 5}, ["body", "name"]),
    ({"name": ["x"]}, ["body", "name"]),
    ({"name": "nul\x00byte"}, ["body", "name"]),
    ({"name": "x", "description": "d" * 2001}, ["body", "description"]),
    ({"name": "x", "description": "a\x00"}, ["body", "description"]),
    ({"name": "x", "tags": MANY_TAGS}, ["body", "tags"]),
    ({"name": "x", "tags": ["Upper"]}, ["body", "tags", 0]),
    ({"name": "x", "tags": ["ok", "with space"]}, ["body", "tags", 1]),
    ({"name": "x", "tags": [""]}, ["body", "tags", 0]),
    ({"name": "x", "tags": ["a" * 65]}, ["body", "tags", 0]),
    ({"name": "x", "tags": ["caf\u00e9"]}, ["body", "tags", 0]),
    ({"name": "x", "tags": ["a/b"]}, ["body", "tags", 0]),
    ({"name": "x", "tags": [7]}, ["body", "tags", 0]),
    ({"name": "x", "tags": None}, ["body", "tags"]),
    ({"name": "x", "tags": "a"}, ["body", "tags"]),
    ({"name": "x", "is_active": None}, ["body", "is_active"]),
    ({"name": "x", "is_active": "perhaps"}, ["body", "is_active"]),
    ({"name": "x", "subscription_plan_id": ""}, ["body", "subscription_plan_id"]),
    ({"name": "x", "subscription_plan_id": "p" * 101}, ["body", "subscription_plan_id"]),
    ({"name": "x", "region": "mars-1"}, ["body", "region"]),
    ({"name": "x", "region": "US-EAST-1"}, ["body", "region"]),
    ({"name": "x", "region": ""}, ["body", "region"]),
    ({"name": "x", "organization_id": "someone-else"}, ["body", "organization_id"]),
    ({"name": "x", "colour": "red"}, ["body", "colour"]),
    ({"name": "x", "workspace_id": "mine"}, ["body", "workspace_id"]),
    ({"name": "x", "owner_id": "someone"}, ["body", "owner_id"]),
    ({"name": "x", "s3_bucket": "my-bucket"}, ["body", "s3_bucket"]),
    ({"name": "x", "bucket_status": "active"}, ["body", "bucket_status"]),
    ({"name": "x", "created_at": "2020-01-01T00:00:00Z"}, ["body", "created_at"]),
    ([{"name": "x"}], ["body"]),
    ("name", ["body"]),
]


@pytest.mark.parametrize(("body", "loc"), BAD_CREATE, ids=[str(i) for i in range(len(BAD_CREATE))])
async def test_create_rejects(
    client: httpx.AsyncClient, tenant: Tenant, body: Any, loc: list[str | int]
) -> None:
    response = await client.post(tenant.base, json=body, headers=tenant.headers())
    assert_422(response, loc)
    assert await total(client, tenant) == 0


async def test_create_rejects_malformed_json(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    response = await client.post(tenant.base, content=b'{"name": ', headers=headers)
    errors = assert_422(response)
    assert errors[0]["type"] == "json_invalid"
    assert await total(client, tenant) == 0


async def test_organization_id_mismatch_message(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        tenant.base, json={"name": "x", "organization_id": "nope"}, headers=tenant.headers()
    )
    errors = assert_422(response, ["body", "organization_id"])
    assert any("organization_id" in e["msg"] for e in errors)
    assert errors[0]["input"] == "nope"


GOOD_CREATE: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"name": "a" * 100}, {"name": "a" * 100}),
    ({"name": "  " + "b" * 100 + "  "}, {"name": "b" * 100}),
    ({"name": "x", "description": "d" * 2000}, {"description": "d" * 2000}),
    ({"name": "x", "description": ""}, {"description": ""}),
    ({"name": "x", "description": None}, {"description": None}),
    ({"name": "x", "tags": MANY_TAGS[:50]}, {"tags": MANY_TAGS[:50]}),
    ({"name": "x", "tags": ["a" * 64, "0.9_z:y-x"]}, {"tags": ["a" * 64, "0.9_z:y-x"]}),
    ({"name": "x", "subscription_plan_id": "p" * 100}, {"subscription_plan_id": "p" * 100}),
    ({"name": "x", "region": "ap-southeast-2"}, {"region": "ap-southeast-2"}),
    ({"name": "Ünïcødé 名前 🚀"}, {"name": "Ünïcødé 名前 🚀"}),
]


@pytest.mark.parametrize(
    ("body", "expected"), GOOD_CREATE, ids=[str(i) for i in range(len(GOOD_CREATE))]
)
async def test_create_accepts_boundaries(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = await client.post(tenant.base, json=body, headers=tenant.headers())
    assert response.status_code == 201, response.text
    ws = response.json()
    assert_workspace(ws)
    for key, value in expected.items():
        assert ws[key] == value
    got = await client.get(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    assert got.json() == ws


async def test_create_with_matching_organization_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await create_ws(client, tenant, organization_id=tenant.org_id)
    assert "organization_id" not in ws


BAD_UPDATE: list[tuple[Any, list[str | int]]] = [
    ({"name": ""}, ["body", "name"]),
    ({"name": "  "}, ["body", "name"]),
    ({"name": "n" * 101}, ["body", "name"]),
    ({"name": None}, ["body", "name"]),
    ({"name": "a\x00"}, ["body", "name"]),
    ({"description": "d" * 2001}, ["body", "description"]),
    ({"tags": MANY_TAGS}, ["body", "tags"]),
    ({"tags": ["BAD"]}, ["body", "tags", 0]),
    ({"tags": None}, ["body", "tags"]),
    ({"is_active": None}, ["body", "is_active"]),
    ({"subscription_plan_id": ""}, ["body", "subscription_plan_id"]),
    ({"region": "eu-west-1"}, ["body", "region"]),
    ({"region": None}, ["body", "region"]),
    ({"name": "ok", "region": "eu-west-1"}, ["body", "region"]),
    ({"colour": "red"}, ["body", "colour"]),
    ({"name": "ok", "workspace_id": "w"}, ["body", "workspace_id"]),
    ({"owner_id": "me"}, ["body", "owner_id"]),
    ({"organization_id": "x"}, ["body", "organization_id"]),
    ({"bucket_status": "active"}, ["body", "bucket_status"]),
    ({"s3_bucket": "b"}, ["body", "s3_bucket"]),
    ({"updated_at": "2020-01-01T00:00:00Z"}, ["body", "updated_at"]),
    ([], ["body"]),
]


@pytest.mark.parametrize(("body", "loc"), BAD_UPDATE, ids=[str(i) for i in range(len(BAD_UPDATE))])
async def test_update_rejects_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant, body: Any, loc: list[str | int]
) -> None:
    ws = await create_ws(client, tenant, name="orig", tags=["a"])
    url = f"{tenant.base}/{ws['workspace_id']}"
    response = await client.put(url, json=body, headers=tenant.headers())
    assert_422(response, loc)
    assert (await client.get(url, headers=tenant.headers())).json() == ws


async def test_update_without_body_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ws = await create_ws(client, tenant)
    response = await client.put(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    assert_422(response, ["body"])


BAD_QUERY: list[tuple[dict[str, str], list[str | int]]] = [
    ({"limit": "0"}, ["query", "limit"]),
    ({"limit": "201"}, ["query", "limit"]),
    ({"limit": "-1"}, ["query", "limit"]),
    ({"limit": "ten"}, ["query", "limit"]),
    ({"limit": "1.5"}, ["query", "limit"]),
    ({"limit": "9" * 30}, ["query", "limit"]),
    ({"organization_id": "someone-else"}, ["query", "organization_id"]),
    ({"cursor": "not-a-cursor"}, ["query", "cursor"]),
    ({"cursor": "e30.AAAA"}, ["query", "cursor"]),
    ({"cursor": "."}, ["query", "cursor"]),
    ({"is_active": "maybe"}, ["query", "is_active"]),
    ({"tag": "t" * 65}, ["query", "tag"]),
    ({"q": "q" * 101}, ["query", "q"]),
]


@pytest.mark.parametrize(("params", "loc"), BAD_QUERY, ids=[str(i) for i in range(len(BAD_QUERY))])
async def test_list_rejects(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str], loc: list[str | int]
) -> None:
    response = await client.get(tenant.base, params=params, headers=tenant.headers())
    assert_422(response, loc)


@pytest.mark.parametrize("limit", ["1", "200"])
async def test_list_accepts_limit_bounds(
    client: httpx.AsyncClient, tenant: Tenant, limit: str
) -> None:
    await create_ws(client, tenant)
    await create_ws(client, tenant)
    response = await client.get(tenant.base, params={"limit": limit}, headers=tenant.headers())
    assert response.status_code == 200
    page = response.json()
    assert len(page["workspaces"]) == min(int(limit), 2)
    assert page["has_more"] is (int(limit) < 2)


async def test_list_accepts_matching_organization_id(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await create_ws(client, tenant)
    response = await client.get(
        tenant.base, params={"organization_id": tenant.org_id}, headers=tenant.headers()
    )
    assert response.status_code == 200
    assert [w["workspace_id"] for w in response.json()["workspaces"]] == [ws["workspace_id"]]


async def test_tampered_cursor_is_422_at_query_cursor(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for i in range(3):
        await create_ws(client, tenant, name=f"w{i}")
    first = await client.get(tenant.base, params={"limit": 1}, headers=tenant.headers())
    cursor = first.json()["next_cursor"]
    assert isinstance(cursor, str) and cursor
    body, _, signature = cursor.partition(".")

    def flip(text: str, index: int) -> str:
        return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]

    tampered = {
        flip(cursor, 0),
        flip(cursor, len(body) // 2),
        flip(cursor, len(cursor) - 1),
        body,
        cursor[:-3],
        cursor + "A",
        f"{body}.{signature}.{signature}",
        cursor.replace(".", ""),
    }
    tampered.discard(cursor)
    for value in tampered:
        response = await client.get(tenant.base, params={"cursor": value}, headers=tenant.headers())
        errors = assert_422(response, ["query", "cursor"])
        assert errors[0]["msg"]
    ok = await client.get(tenant.base, params={"cursor": cursor}, headers=tenant.headers())
    assert ok.status_code == 200
