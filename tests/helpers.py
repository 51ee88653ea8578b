"""Shared assertions and builders for the API tests (workspaces, auth, errors)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import jwt
from fastapi import FastAPI

from mechamental.app import create_app
from mechamental.config import Settings
from tests.conftest import JWT_SECRET, Tenant

T = TypeVar("T")

ENVELOPE_KEYS = {"error", "message", "details", "timestamp", "status_code"}
# The reference's fields, plus `bucket_error` (the reason while bucket_status is failed).
WORKSPACE_FIELDS = {
    "workspace_id",
    "name",
    "description",
    "owner_id",
    "subscription_plan_id",
    "is_active",
    "tags",
    "region",
    "s3_bucket",
    "bucket_status",
    "bucket_error",
    "created_at",
    "updated_at",
}
LIST_FIELDS = {"total", "has_more", "next_cursor", "workspaces"}
BUCKET_STATUSES = {"pending", "provisioning", "active", "failed", "deleting"}
ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]00:00)$")
# S3 rules: 3-63 chars, lowercase letters, digits and hyphens, starts and ends alphanumeric.
S3_BUCKET = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")


def parse_utc(text: str) -> datetime:
    """An API timestamp: ISO-8601 with a UTC offset (Z or +00:00)."""
    assert ISO_UTC.match(text), text
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None and value.utcoffset() == timedelta(0), text
    return value


def assert_envelope(
    response: httpx.Response,
    status: int,
    error: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The response is the reference's error envelope with this status and code."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == ENVELOPE_KEYS, body
    assert body["error"] == error
    assert body["status_code"] == status
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    if details is not None:
        assert body["details"] == details
    # "2025-01-01T00:00:00.000000", as the reference writes it, in UTC.
    stamp = datetime.strptime(body["timestamp"], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - stamp) < timedelta(minutes=2)
    assert "Traceback" not in response.text
    return body


def assert_401(response: httpx.Response) -> None:
    """401 AUTHENTICATION_FAILED with the Bearer challenge."""
    assert_envelope(response, 401, "AUTHENTICATION_FAILED", {})
    assert response.headers["www-authenticate"] == "Bearer"


def assert_403(response: httpx.Response, permission: str) -> None:
    """403 FORBIDDEN naming the missing permission."""
    assert_envelope(response, 403, "FORBIDDEN", {"required_permission": permission})


def assert_404_workspace(response: httpx.Response, workspace_id: str) -> None:
    """404 RESOURCE_NOT_FOUND for this workspace id."""
    assert_envelope(
        response,
        404,
        "RESOURCE_NOT_FOUND",
        {"resource_type": "workspace", "resource_id": workspace_id},
    )


def assert_422(response: httpx.Response, loc: list[str | int] | None = None) -> list[Any]:
    """FastAPI's own 422 body; when `loc` is given, one error points exactly there."""
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail"}, body
    errors = body["detail"]
    assert isinstance(errors, list) and errors
    for item in errors:
        assert isinstance(item["loc"], list) and item["loc"]
        assert item["loc"][0] in {"body", "query", "header", "path"}
        assert isinstance(item["msg"], str) and item["msg"]
        assert isinstance(item["type"], str) and item["type"]
        assert "input" in item
    if loc is not None:
        assert loc in [item["loc"] for item in errors], errors
    assert "Traceback" not in response.text
    return list(errors)


def assert_workspace(ws: dict[str, Any]) -> None:
    """One workspace in the reference's shape."""
    assert set(ws) == WORKSPACE_FIELDS, set(ws) ^ WORKSPACE_FIELDS
    assert isinstance(ws["workspace_id"], str) and ws["workspace_id"]
    assert isinstance(ws["name"], str) and ws["name"] == ws["name"].strip(" \t\n\r\x0b\x0c")
    assert ws["description"] is None or isinstance(ws["description"], str)
    assert isinstance(ws["owner_id"], str) and ws["owner_id"]
    assert ws["subscription_plan_id"] is None or isinstance(ws["subscription_plan_id"], str)
    assert isinstance(ws["is_active"], bool)
    assert isinstance(ws["tags"], list) and len(ws["tags"]) == len(set(ws["tags"]))
    assert isinstance(ws["region"], str)
    assert S3_BUCKET.match(ws["s3_bucket"]) and ".." not in ws["s3_bucket"], ws["s3_bucket"]
    assert ws["bucket_status"] in BUCKET_STATUSES
    assert ws["bucket_error"] is None or isinstance(ws["bucket_error"], str)
    assert parse_utc(ws["created_at"]) <= parse_utc(ws["updated_at"])


async def create_ws(
    client: httpx.AsyncClient, tenant: Tenant, role: str = "owner", **body: Any
) -> dict[str, Any]:
    """Create a workspace (name defaults to 'ws'); assert 201 and return it."""
    body.setdefault("name", "ws")
    response = await client.post(tenant.base, json=body, headers=tenant.headers(role))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def total(client: httpx.AsyncClient, tenant: Tenant, **params: Any) -> int:
    """The org's list total (with optional filters)."""
    response = await client.get(tenant.base, params=params, headers=tenant.headers())
    assert response.status_code == 200, response.text
    value: int = response.json()["total"]
    return value


def make_jwt(
    claims: dict[str, Any] | None = None,
    *,
    org_id: str = "",
    sub: str = "jwt-user",
    role: str = "member",
    expires_in: float = 300,
    key: Any = JWT_SECRET,
    algorithm: str = "HS256",
    drop: tuple[str, ...] = (),
) -> str:
    """A signed JWT; `claims` overrides the defaults, `drop` removes claims."""
    payload: dict[str, Any] = {
        "sub": sub,
        "org_id": org_id,
        "role": role,
        "exp": int(time.time() + expires_in),
        "iat": int(time.time()),
    }
    payload.update(claims or {})
    for name in drop:
        payload.pop(name, None)
    return jwt.encode(payload, key, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a raw token."""
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """A second real app (own settings) with its lifespan, and a client for it."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield application, c


WAIT = 45.0  # generous: an upper bound for slow CI machines, never a timing assertion


async def eventually(
    probe: Callable[[], Awaitable[T]], until: Callable[[T], bool], *, within: float = WAIT
) -> T:
    """Poll `probe` until `until(value)` holds; fail with the last value after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if until(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached; last value: {value!r}")
        await asyncio.sleep(0.05)
