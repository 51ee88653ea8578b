"""The error envelope on every non-2xx response but 422, and X-Request-ID on every response."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tests.conftest import Tenant
from tests.helpers import assert_422, assert_envelope, create_ws, total

LIMIT = 64 * 1024
REQUEST_ID = "req-123.abc:XYZ_9"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("GET", "/v1"),
        ("GET", "/v1/orgs/x"),
        ("POST", "/v1/orgs/x/things"),
        ("GET", "/v1/orgs/x/workspaces/"),  # no slash redirects
        ("GET", "/v1/orgs/x/workspaces/y/z"),
        ("GET", "/healthz/"),
    ],
)
async def test_unknown_route_is_404_envelope(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path, headers={"X-Request-ID": REQUEST_ID})
    body = assert_envelope(response, 404, "RESOURCE_NOT_FOUND")
    assert body["details"] == {"resource_type": "route", "resource_id": path}
    assert response.headers["x-request-id"] == REQUEST_ID


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PATCH", "/v1/orgs/x/workspaces", {"GET", "POST"}),
        ("DELETE", "/v1/orgs/x/workspaces", {"GET", "POST"}),
        ("PUT", "/v1/orgs/x/workspaces", {"GET", "POST"}),
        ("POST", "/v1/orgs/x/workspaces/y", {"GET", "PUT", "DELETE"}),
        ("PATCH", "/v1/orgs/x/workspaces/y", {"GET", "PUT", "DELETE"}),
        ("POST", "/healthz", {"GET"}),
        ("DELETE", "/readyz", {"GET"}),
    ],
)
async def test_wrong_method_is_405_envelope(
    client: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await client.request(method, path)
    assert_envelope(response, 405, "METHOD_NOT_ALLOWED", {})
    assert {m.strip() for m in response.headers["allow"].split(",")} >= allowed
    assert response.headers["x-request-id"]


async def test_412_envelope(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ws = await create_ws(client, tenant)
    response = await client.put(
        f"{tenant.base}/{ws['workspace_id']}",
        json={"name": "x"},
        headers={**tenant.headers(), "If-Match": '"stale"', "X-Request-ID": REQUEST_ID},
    )
    assert_envelope(response, 412, "PRECONDITION_FAILED", {})
    assert response.headers["x-request-id"] == REQUEST_ID


def _padded(size: int) -> bytes:
    """A valid create body of exactly `size` bytes (JSON whitespace as padding)."""
    head = b'{"name": "big", "description": "' + b"d" * 2000 + b'"'
    return head + b" " * (size - len(head) - 1) + b"}"


async def test_body_limit_boundary(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    at_limit = await client.post(tenant.base, content=_padded(LIMIT), headers=headers)
    assert at_limit.status_code == 201, at_limit.text
    over = await client.post(tenant.base, content=_padded(LIMIT + 1), headers=headers)
    body = assert_envelope(over, 413, "PAYLOAD_TOO_LARGE", {})
    assert str(LIMIT) in body["message"] or "large" in body["message"].lower()
    assert await total(client, tenant) == 1


async def test_oversized_put_is_413_and_changes_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}"
    big = json.dumps({"name": "x", "description": "y" * (LIMIT + 10)}).encode()
    response = await client.put(
        url,
        content=big,
        headers={**tenant.headers(), "Content-Type": "application/json", "X-Request-ID": "r1"},
    )
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE", {})
    assert response.headers["x-request-id"] == "r1"
    assert (await client.get(url, headers=tenant.headers())).json() == ws


async def test_oversized_chunked_body_is_413(client: httpx.AsyncClient, tenant: Tenant) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "chunked", "description": "'
        for _ in range(80):
            yield b"z" * 1024
        yield b'"}'

    response = await client.post(
        tenant.base,
        content=chunks(),
        headers={**tenant.headers(), "Content-Type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE", {})
    assert await total(client, tenant) == 0


async def test_unhandled_exception_is_500_without_internals(
    app: FastAPI, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode() -> None:
        raise RuntimeError("internal detail: password=hunter2 at /srv/secret.py")

    app.add_api_route("/__test_explode", explode)
    with caplog.at_level(logging.ERROR):
        response = await client.get("/__test_explode", headers={"X-Request-ID": REQUEST_ID})
    body = assert_envelope(response, 500, "INTERNAL_SERVER_ERROR", {})
    assert body["message"] == "An unexpected error occurred"
    for leak in ("hunter2", "RuntimeError", "secret.py", "Traceback", "File "):
        assert leak not in response.text
    assert response.headers["x-request-id"] == REQUEST_ID
    logged = [r for r in caplog.records if r.exc_info and getattr(r, "request_id", None)]
    assert logged, "the traceback is logged with the request id"
    assert logged[0].request_id == REQUEST_ID  # type: ignore[attr-defined]
    assert "hunter2" in str(logged[0].exc_info[1])  # type: ignore[index]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"name": NaN}',
        b'{"name": "x", "tags": [Infinity]}',
        b'{"name": -Infinity}',
        b'{"name": "x", "is_active": NaN}',
        b'{"name": "a\\ud800"}',
        b'{"name": "x", "description": "\\udfff"}',
        b'{"name": "x", "\\ud83d": 1}',
        b'{"name": "x", "organization_id": "\\ud800"}',
        b'{"name": "x", "region": "\\ud800"}',
        b'{"name": "x", "subscription_plan_id": "\\udc00\\u0000"}',
        b'{"name": 123456789012345678901234567890}',
        b'{"name": "x", "tags": [1e400]}',
    ],
)
async def test_hostile_json_values_are_422_not_500(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes
) -> None:
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    response = await client.post(tenant.base, content=raw, headers=headers)
    assert_422(response)
    json.loads(response.content)  # still a valid JSON document
    assert await total(client, tenant) == 0


@pytest.mark.parametrize(
    "raw",
    [b'{"name": NaN}', b'{"description": "\\ud800"}', b'{"tags": ["\\udfff"]}', b'{"x\\ud800": 1}'],
)
async def test_hostile_json_on_update_is_422(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes
) -> None:
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}"
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    assert_422(await client.put(url, content=raw, headers=headers))
    assert (await client.get(url, headers=tenant.headers())).json() == ws


@pytest.mark.parametrize("raw", [b"[" * 20000 + b"]" * 20000, b'{"name": "\xff\xfe"}', b"\x00"])
async def test_unparseable_bodies_are_client_errors(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes
) -> None:
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    response = await client.post(tenant.base, content=raw, headers=headers)
    assert 400 <= response.status_code < 500
    if response.status_code == 422:
        assert_422(response)
    else:
        assert_envelope(response, response.status_code, response.json()["error"])
    assert await total(client, tenant) == 0


@pytest.mark.parametrize("path", ["a%00b", "%00", "x" * 65])
async def test_impossible_workspace_ids_are_422_at_the_edge(
    client: httpx.AsyncClient, tenant: Tenant, path: str
) -> None:
    # One type (params.WorkspaceId) checks every workspace id in a path.
    for method, suffix, body in (
        ("GET", "", None),
        ("PUT", "", {"name": "x"}),
        ("DELETE", "", None),
        ("GET", "/sync/stream", None),
        ("GET", "/sync/presence", None),
        ("POST", "/sync/presence/join", None),
    ):
        response = await client.request(
            method, f"{tenant.base}/{path}{suffix}", json=body, headers=tenant.headers()
        )
        assert_422(response, ["path", "workspace_id"])


async def test_request_id_on_every_kind_of_response(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}"
    etag = (await client.get(url, headers=tenant.headers())).headers["etag"]
    cases: list[tuple[str, str, dict[str, str], object, int]] = [
        ("GET", "/healthz", {}, None, 200),
        ("GET", "/readyz", {}, None, 200),
        ("GET", tenant.base, tenant.headers(), None, 200),
        ("POST", tenant.base, tenant.headers(), {"name": "n"}, 201),
        ("GET", url, {**tenant.headers(), "If-None-Match": etag}, None, 304),
        ("GET", tenant.base, {}, None, 401),
        ("DELETE", url, tenant.headers("viewer"), None, 403),
        ("GET", f"{tenant.base}/missing", tenant.headers(), None, 404),
        ("GET", "/nowhere", {}, None, 404),
        ("PATCH", url, tenant.headers(), None, 405),
        ("PUT", url, {**tenant.headers(), "If-Match": '"x"'}, {}, 412),
        ("POST", tenant.base, tenant.headers(), {"name": ""}, 422),
        ("GET", tenant.base, tenant.headers(), None, 200),
    ]
    generated: set[str] = set()
    for i, (method, path, headers, body, status) in enumerate(cases):
        sent = f"rid-{i}"
        echoed = await client.request(
            method, path, json=body, headers={**headers, "X-Request-ID": sent}
        )
        assert echoed.status_code == status, (method, path, echoed.text)
        assert echoed.headers["x-request-id"] == sent
        fresh = await client.request(method, path, json=body, headers=headers)
        assert fresh.status_code == status
        value = fresh.headers["x-request-id"]
        assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", value), value
        generated.add(value)
    assert len(generated) == len(cases)  # a new id for every request


@pytest.mark.parametrize("bad", ["has space", "x" * 129, "semi;colon", 'quote"d', "tab\tx"])
async def test_unsafe_request_ids_are_replaced(client: httpx.AsyncClient, bad: str) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": bad})
    value = response.headers["x-request-id"]
    assert value != bad
    assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", value)


@pytest.mark.parametrize("content_type", ["text/plain", "application/octet-stream", ""])
async def test_non_json_bodies_that_are_not_utf8_are_422(
    client: httpx.AsyncClient, tenant: Tenant, content_type: str
) -> None:
    headers = {**tenant.headers(), "Content-Type": content_type}
    response = await client.post(tenant.base, content=b"\x80\xff{", headers=headers)
    assert_422(response, ["body"])
    assert await total(client, tenant) == 0
