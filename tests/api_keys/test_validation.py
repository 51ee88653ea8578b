"""Request rules of the key endpoints: each a schema keyword, each a 422 where it points."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.api_keys.helpers import create_key, keys_url, listed_ids
from tests.conftest import Tenant
from tests.helpers import assert_422, parse_utc


async def post(client: httpx.AsyncClient, tenant: Tenant, body: Any) -> httpx.Response:
    return await client.post(keys_url(tenant), json=body, headers=tenant.headers())


async def test_expires_at_in_the_past_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    before = await listed_ids(client, tenant)
    for when in (datetime.now(UTC) - timedelta(seconds=1), datetime(2001, 1, 1, tzinfo=UTC)):
        body = {"name": "late", "role": "viewer", "expires_at": when.isoformat()}
        errors = assert_422(await post(client, tenant, body), ["body", "expires_at"])
        assert "future" in errors[0]["msg"]
    assert await listed_ids(client, tenant) == before


async def test_expires_at_in_the_future_is_kept_in_utc(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await create_key(client, tenant, expires_at="2031-06-01T12:00:00.5+02:00")
    assert parse_utc(created["expires_at"]) == datetime(2031, 6, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert created["expires_at"].endswith("Z")
    assert (await create_key(client, tenant, expires_at=None))["expires_at"] is None
    assert (await create_key(client, tenant))["expires_at"] is None


@pytest.mark.parametrize(
    "value",
    [
        "2031-01-01",  # a date is not a date-time
        "2031-01-01T00:00:00",  # no offset
        "2031-01-01T00:00Z",  # no seconds
        "2031-02-30T00:00:00Z",  # no such day
        "2031-01-01t00:00:00z",  # RFC 3339 validators read T and Z in capitals
        "2031-01-01T24:00:00Z",
        "2031-01-01T12:99:00Z",
        "9999-12-31T23:59:59-01:00",  # after the year 9999 in UTC
        "tomorrow",
        "",
        1924992000,  # a number is not a date-time
        True,
    ],
)
async def test_expires_at_must_be_an_rfc3339_date_time(
    client: httpx.AsyncClient, tenant: Tenant, value: Any
) -> None:
    body = {"name": "n", "role": "viewer", "expires_at": value}
    assert_422(await post(client, tenant, body), ["body", "expires_at"])


@pytest.mark.parametrize("role", ["boss", "OWNER", "Owner", "", 1, None, ["owner"]])
async def test_bad_role_is_422(client: httpx.AsyncClient, tenant: Tenant, role: Any) -> None:
    assert_422(await post(client, tenant, {"name": "n", "role": role}), ["body", "role"])


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"role": "viewer"}, ["body", "name"]),
        ({"name": "", "role": "viewer"}, ["body", "name"]),
        ({"name": "x" * 201, "role": "viewer"}, ["body", "name"]),
        ({"name": "a\x00b", "role": "viewer"}, ["body", "name"]),
        ({"name": 5, "role": "viewer"}, ["body", "name"]),
        ({"name": "n"}, ["body", "role"]),
        ({"name": "n", "role": "viewer", "user_id": ""}, ["body", "user_id"]),
        ({"name": "n", "role": "viewer", "user_id": "u" * 201}, ["body", "user_id"]),
        ({"name": "n", "role": "viewer", "user_id": "a\x00"}, ["body", "user_id"]),
        ({"name": "n", "role": "viewer", "secret": "mm_chosen"}, ["body", "secret"]),
        ({"name": "n", "role": "viewer", "org_id": "x"}, ["body", "org_id"]),
    ],
)
async def test_body_rules(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], loc: list[str]
) -> None:
    assert_422(await post(client, tenant, body), loc)


async def test_name_limits_and_the_documented_rules(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert (await create_key(client, tenant, name="x" * 200))["name"] == "x" * 200
    assert (await create_key(client, tenant, name=" spaced \u3000"))["name"] == " spaced \u3000"
    doc = (await client.get("/openapi.json")).json()
    schema = doc["components"]["schemas"]["ApiKeyCreate"]
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == ["name", "role"]
    name = schema["properties"]["name"]
    assert (name["minLength"], name["maxLength"]) == (1, 200)
    assert not re.search(name["pattern"], "a\x00b")
    assert schema["properties"]["expires_at"]["anyOf"][0]["format"] == "date-time"
    assert doc["components"]["schemas"]["Role"]["enum"] == ["owner", "admin", "member", "viewer"]


@pytest.mark.parametrize("raw", [b'{"name": "x"', b"\xff", b"[" * 5000 + b"]" * 5000])
async def test_a_body_that_is_not_json_is_422(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes
) -> None:
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    response = await client.post(keys_url(tenant), content=raw, headers=headers)
    assert assert_422(response)[0]["type"] == "json_invalid"


async def test_key_id_in_the_path(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for method in ("GET", "DELETE"):
        url = keys_url(tenant, "k" * 65)
        assert_422(await client.request(method, url, headers=tenant.headers()), ["path", "key_id"])


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten", "1.5"])
async def test_list_limit(client: httpx.AsyncClient, tenant: Tenant, limit: str) -> None:
    response = await client.get(keys_url(tenant), params={"limit": limit}, headers=tenant.headers())
    assert_422(response, ["query", "limit"])
