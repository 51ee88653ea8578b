"""Builders and assertions shared by the API key tests."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.conftest import Tenant
from tests.helpers import parse_utc

SECRET = re.compile(r"^mm_[A-Za-z0-9_-]{20,}$")
KEY_FIELDS = {"id", "name", "role", "user_id", "created_at", "expires_at", "last_used_at"}


def keys_url(tenant: Tenant, key_id: str | None = None) -> str:
    """The org's key collection, or one key in it."""
    base = f"/v1/orgs/{tenant.org_id}/api-keys"
    return base if key_id is None else f"{base}/{key_id}"


def assert_key(key: dict[str, Any]) -> None:
    """One key as the list and the get show it: the fields, and never a secret."""
    assert set(key) == KEY_FIELDS, set(key) ^ KEY_FIELDS
    assert key["role"] in {"owner", "admin", "member", "viewer"}
    parse_utc(key["created_at"])
    for name in ("expires_at", "last_used_at"):
        assert key[name] is None or parse_utc(key[name])


async def create_key(
    client: httpx.AsyncClient, tenant: Tenant, caller: str = "owner", **body: Any
) -> dict[str, Any]:
    """POST a key (name 'k' and role 'member' unless given); assert 201 and return the body."""
    body.setdefault("name", "k")
    body.setdefault("role", "member")
    response = await client.post(keys_url(tenant), json=body, headers=tenant.headers(caller))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert set(created) == KEY_FIELDS | {"secret"}
    assert SECRET.match(created["secret"])
    return created


async def listed(
    client: httpx.AsyncClient, tenant: Tenant, caller: str = "owner", **params: Any
) -> dict[str, Any]:
    """One page of the org's key list (asserting 200)."""
    response = await client.get(keys_url(tenant), params=params, headers=tenant.headers(caller))
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert set(page) == {"total", "has_more", "next_cursor", "api_keys"}
    for key in page["api_keys"]:
        assert_key(key)
    return page


async def listed_ids(client: httpx.AsyncClient, tenant: Tenant) -> list[str]:
    """Every live key id of the org, newest first (one page of 200)."""
    page = await listed(client, tenant, limit=200)
    assert not page["has_more"]
    return [key["id"] for key in page["api_keys"]]
