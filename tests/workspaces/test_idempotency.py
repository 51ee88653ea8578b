"""Idempotency-Key on create: replays, conflicts, scoping per user and org, expiry, races."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import Tenant, create_tenant, make_settings
from tests.helpers import assert_422, assert_workspace, running_app, total


def key() -> str:
    return f"key-{uuid.uuid4()}"


async def test_same_key_same_body_replays_and_creates_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.headers(), "Idempotency-Key": key()}
    body = {"name": "Once", "tags": ["a", "b"], "description": "d"}
    first = await client.post(tenant.base, json=body, headers=headers)
    assert first.status_code == 201
    assert_workspace(first.json())
    for _ in range(3):
        again = await client.post(tenant.base, json=body, headers=headers)
        assert again.status_code == 201
        assert again.content == first.content  # the first response, byte for byte
        assert again.headers.get("idempotent-replayed") == "true"
    assert await total(client, tenant) == 1
    assert "idempotent-replayed" not in first.headers


async def test_replay_ignores_key_order_and_equivalent_spelling(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.headers(), "Idempotency-Key": key(), "Content-Type": "application/json"}
    first = await client.post(tenant.base, content=b'{"name":"N","tags":["x"]}', headers=headers)
    second = await client.post(
        tenant.base, content=b'{ "tags" : ["x"], "name" : "N" }', headers=headers
    )
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert await total(client, tenant) == 1


async def test_replay_survives_the_workspace_changing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.headers(), "Idempotency-Key": key()}
    first = await client.post(tenant.base, json={"name": "orig"}, headers=headers)
    url = f"{tenant.base}/{first.json()['workspace_id']}"
    await client.put(url, json={"name": "renamed"}, headers=tenant.headers())
    again = await client.post(tenant.base, json={"name": "orig"}, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert await total(client, tenant) == 1


async def test_same_key_different_body_is_422(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers(), "Idempotency-Key": key()}
    first = await client.post(tenant.base, json={"name": "A"}, headers=headers)
    assert first.status_code == 201
    for other in ({"name": "B"}, {"name": "A", "tags": ["x"]}, {"name": "A", "is_active": False}):
        response = await client.post(tenant.base, json=other, headers=headers)
        errors = assert_422(response, ["header", "idempotency-key"])
        assert "different" in errors[0]["msg"].lower()
    assert await total(client, tenant) == 1
    replay = await client.post(tenant.base, json={"name": "A"}, headers=headers)
    assert replay.json() == first.json()


async def test_failed_validation_does_not_consume_the_key(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.headers(), "Idempotency-Key": key()}
    bad = await client.post(tenant.base, json={"name": ""}, headers=headers)
    assert_422(bad, ["body", "name"])
    good = await client.post(tenant.base, json={"name": "ok"}, headers=headers)
    assert good.status_code == 201 and good.json()["name"] == "ok"
    assert await total(client, tenant) == 1


async def test_different_users_with_the_same_key_are_independent(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    shared = key()
    body = {"name": "Same"}
    made = []
    for role in ("owner", "admin", "member"):
        r = await client.post(
            tenant.base, json=body, headers={**tenant.headers(role), "Idempotency-Key": shared}
        )
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers
        made.append(r.json())
    assert len({w["workspace_id"] for w in made}) == 3
    assert [w["owner_id"] for w in made] == [tenant.users[r] for r in ("owner", "admin", "member")]
    # A different body under the same key is fine for another user too.
    viewer_like = await client.post(
        tenant.base,
        json={"name": "Other"},
        headers={**tenant.headers("member"), "Idempotency-Key": key()},
    )
    assert viewer_like.status_code == 201
    assert await total(client, tenant) == 4


async def test_same_key_in_two_orgs_is_independent(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    # Both orgs have a user called "owner-user": the key must still be per org.
    assert tenant.users["owner"] == other_tenant.users["owner"]
    shared = key()
    mine = await client.post(
        tenant.base, json={"name": "X"}, headers={**tenant.headers(), "Idempotency-Key": shared}
    )
    theirs = await client.post(
        other_tenant.base,
        json={"name": "X"},
        headers={**other_tenant.headers(), "Idempotency-Key": shared},
    )
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["workspace_id"] != theirs.json()["workspace_id"]
    assert "idempotent-replayed" not in theirs.headers
    assert await total(client, tenant) == 1
    assert await total(client, other_tenant) == 1
    url = f"{other_tenant.base}/{theirs.json()['workspace_id']}"
    assert (await client.get(url, headers=other_tenant.headers())).status_code == 200


async def test_concurrent_requests_with_one_key_create_one_workspace(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.headers(), "Idempotency-Key": key()}
    responses = await asyncio.gather(
        *(client.post(tenant.base, json={"name": "Race"}, headers=headers) for _ in range(6))
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    assert len({r.json()["workspace_id"] for r in responses}) == 1
    assert await total(client, tenant) == 1


async def test_without_a_key_every_post_creates(client: httpx.AsyncClient, tenant: Tenant) -> None:
    for _ in range(2):
        r = await client.post(tenant.base, json={"name": "Same"}, headers=tenant.headers())
        assert r.status_code == 201
    assert await total(client, tenant) == 2


@pytest.mark.parametrize("bad_key", ["", "k" * 256, "tab\there", "caf\u00e9"])
async def test_malformed_keys_are_422(
    client: httpx.AsyncClient, tenant: Tenant, bad_key: str
) -> None:
    headers: dict[str, str | bytes] = {**tenant.headers(), "Idempotency-Key": bad_key.encode()}
    response = await client.post(tenant.base, json={"name": "x"}, headers=headers)
    assert_422(response, ["header", "idempotency-key"])
    assert await total(client, tenant) == 0


async def test_longest_key_is_accepted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    headers = {**tenant.headers(), "Idempotency-Key": "k" * 255}
    assert (await client.post(tenant.base, json={"name": "x"}, headers=headers)).status_code == 201
    again = await client.post(tenant.base, json={"name": "x"}, headers=headers)
    assert again.headers.get("idempotent-replayed") == "true"
    assert await total(client, tenant) == 1


async def test_expired_key_is_used_afresh(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, idempotency_ttl_seconds=0)
    async with running_app(settings) as (application, c):
        t = await create_tenant(application.state.services.db, "ttl")
        headers = {**t.headers(), "Idempotency-Key": "k"}
        first = await c.post(t.base, json={"name": "x"}, headers=headers)
        second = await c.post(t.base, json={"name": "y"}, headers=headers)
        assert first.status_code == second.status_code == 201
        assert first.json()["workspace_id"] != second.json()["workspace_id"]
        assert await total(c, t) == 2
