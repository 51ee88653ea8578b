"""What the request schemas say is what the server enforces (and the reverse)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.helpers import assert_422, create_ws

UNPARSEABLE = [
    b"[" * 20000 + b"]" * 20000,  # deeper than any parser should follow
    b'{"name": "\xff\xfe"}',  # not UTF-8
    b"\x00",
    b'{"name": "x"',  # plain malformed JSON: the same rule
]


@pytest.mark.parametrize("raw", UNPARSEABLE)
async def test_a_body_that_is_not_json_is_422_json_invalid(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes
) -> None:
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    for method, url in (("POST", tenant.base), ("PUT", f"{tenant.base}/some-id")):
        errors = assert_422(await client.request(method, url, content=raw, headers=headers))
        assert errors[0]["type"] == "json_invalid", errors


@pytest.mark.parametrize("value", ["yes", "true", 0, 1, "false", None])
async def test_booleans_are_json_booleans(
    client: httpx.AsyncClient, tenant: Tenant, value: Any
) -> None:
    response = await client.post(
        tenant.base, json={"name": "n", "is_active": value}, headers=tenant.headers()
    )
    assert_422(response, ["body", "is_active"])
    ws = await create_ws(client, tenant)
    response = await client.put(
        f"{tenant.base}/{ws['workspace_id']}", json={"is_active": value}, headers=tenant.headers()
    )
    assert_422(response, ["body", "is_active"])


@pytest.mark.parametrize("key", ["", "a" * 256, "caf\u00e9", "tab\there"])
async def test_idempotency_key_rule_is_the_documented_one(
    client: httpx.AsyncClient, tenant: Tenant, key: str
) -> None:
    doc = (await client.get("/openapi.json")).json()
    params = doc["paths"]["/v1/orgs/{org_id}/workspaces"]["post"]["parameters"]
    schema = next(p for p in params if p["name"] == "idempotency-key")["schema"]["anyOf"][0]
    documented_ok = (
        schema["minLength"] <= len(key) <= schema["maxLength"]
        and re.search(schema["pattern"], key) is not None
    )
    assert not documented_ok
    headers = {**tenant.headers(), "Idempotency-Key": key.encode("latin-1")}
    response = await client.post(tenant.base, json={"name": "n"}, headers=headers)
    assert_422(response, ["header", "idempotency-key"])


async def test_last_event_id_is_capped_like_the_query_parameter(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}/sync/stream"
    long_id = "1-" + "a" * 10_000
    response = await client.get(url, headers={**tenant.headers(), "Last-Event-ID": long_id})
    assert_422(response, ["header", "last-event-id"])
    response = await client.get(url, params={"last_event_id": long_id}, headers=tenant.headers())
    assert_422(response, ["query", "last_event_id"])
    doc = (await client.get("/openapi.json")).json()
    stream = doc["paths"]["/v1/orgs/{org_id}/workspaces/{workspace_id}/sync/stream"]["get"]
    caps = {
        p["name"]: p["schema"]["anyOf"][0]["maxLength"]
        for p in stream["parameters"]
        if p["name"] in ("last_event_id", "last-event-id")
    }
    assert caps == {"last_event_id": 64, "last-event-id": 64}
    event = stream["responses"]["200"]["content"]["text/event-stream"]["schema"]
    assert event["required"] == ["event", "id", "data"]


async def test_every_workspace_id_in_a_path_is_one_documented_type(
    client: httpx.AsyncClient,
) -> None:
    doc = (await client.get("/openapi.json")).json()
    schemas = [
        p["schema"]
        for path, operations in doc["paths"].items()
        if "{workspace_id}" in path
        for operation in operations.values()
        for p in operation["parameters"]
        if p["name"] == "workspace_id"
    ]
    assert len(schemas) == 9
    for schema in schemas:
        assert schema["pattern"] == r"^[^\x00]+$"
        assert schema["maxLength"] == 64 and schema["minLength"] == 1


async def test_names_are_checked_as_documented(client: httpx.AsyncClient, tenant: Tenant) -> None:
    doc = (await client.get("/openapi.json")).json()
    pattern = doc["components"]["schemas"]["WorkspaceCreate"]["properties"]["name"]["pattern"]
    regions = doc["components"]["schemas"]["WorkspaceCreate"]["properties"]["region"]
    assert "us-east-1" in regions["anyOf"][0]["enum"]
    for name in ["  x  ", "\u3000x", "x" * 100, " " * 5 + "x" * 100, "a\x1cb"]:
        assert re.search(pattern, name)
        response = await client.post(tenant.base, json={"name": name}, headers=tenant.headers())
        assert response.status_code == 201, (name, response.text)
    for name in ["", "   ", "\u2003", "x" * 101, "a\x00b"]:
        assert not re.search(pattern, name)
        response = await client.post(tenant.base, json={"name": name}, headers=tenant.headers())
        assert_422(response, ["body", "name"])
