"""API keys: hashed at rest, revocable, expiring; every bad credential is a 401 with a challenge."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from mechamental.auth import tokens
from mechamental.auth.models import api_tokens
from mechamental.auth.permissions import Role
from tests.conftest import Tenant
from tests.helpers import assert_401, assert_envelope, bearer, create_ws

ENDPOINTS = [
    ("GET", ""),
    ("POST", ""),
    ("GET", "/some-id"),
    ("PUT", "/some-id"),
    ("DELETE", "/some-id"),
]


async def issue(
    app: FastAPI, tenant: Tenant, role: Role, expires_in: timedelta | None = None
) -> tokens.IssuedToken:
    async with app.state.services.db.transaction() as conn:
        return await tokens.create_token(
            conn, org_id=tenant.org_id, user_id="key-user", role=role, expires_in=expires_in
        )


@pytest.mark.parametrize(("method", "suffix"), ENDPOINTS)
async def test_no_credentials_is_401_on_every_endpoint(
    client: httpx.AsyncClient, tenant: Tenant, method: str, suffix: str
) -> None:
    body = {"name": "x"} if method in {"POST", "PUT"} else None
    response = await client.request(method, tenant.base + suffix, json=body)
    assert_401(response)
    assert response.json()["message"] == "Authentication required"


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Basic dXNlcjpwYXNz",
        "Token mm_abc",
        "Bearer mm_a mm_b",
        "Bearer mm_unknown_token_value",
        "Bearer mm_",
        "Bearer not-a-token",
        "Bearer a.b.c",
        "Bearer ...",
        "mm_missing_scheme",
    ],
)
async def test_bad_authorization_headers_are_401(
    client: httpx.AsyncClient, tenant: Tenant, header: str
) -> None:
    for method, suffix in ENDPOINTS:
        body = {"name": "x"} if method in {"POST", "PUT"} else None
        response = await client.request(
            method, tenant.base + suffix, json=body, headers={"Authorization": header}
        )
        assert_401(response)


async def test_valid_key_in_any_scheme_case(client: httpx.AsyncClient, tenant: Tenant) -> None:
    secret = tenant.tokens["viewer"]
    for scheme in ("Bearer", "bearer", "BEARER"):
        response = await client.get(tenant.base, headers={"Authorization": f"{scheme} {secret}"})
        assert response.status_code == 200, scheme
    # The secret alone, or with a character changed, is not a credential.
    assert_401(await client.get(tenant.base, headers={"Authorization": secret}))
    flipped = secret[:-1] + ("a" if secret[-1] != "a" else "b")
    assert_401(await client.get(tenant.base, headers=bearer(flipped)))
    assert_401(await client.get(tenant.base, headers=bearer(secret + "x")))


async def test_revoked_key_is_401(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
    issued = await issue(app, tenant, Role.OWNER)
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}"
    assert (await client.get(url, headers=bearer(issued.secret))).status_code == 200
    async with app.state.services.db.transaction() as conn:
        assert await tokens.revoke_token(conn, org_id=tenant.org_id, token_id=issued.id)
    for method in ("GET", "PUT", "DELETE"):
        body = {"name": "x"} if method == "PUT" else None
        assert_401(await client.request(method, url, json=body, headers=bearer(issued.secret)))
    assert_401(await client.post(tenant.base, json={"name": "x"}, headers=bearer(issued.secret)))
    assert_401(await client.get(tenant.base, headers=bearer(issued.secret)))
    # Revocation is per key: the tenant's other keys still work, and the workspace is intact.
    assert (await client.get(url, headers=tenant.headers())).json() == ws
    async with app.state.services.db.transaction() as conn:
        assert not await tokens.revoke_token(
            conn, org_id=tenant.org_id, token_id=issued.id
        )  # already revoked


async def test_expired_key_is_401(app: FastAPI, client: httpx.AsyncClient, tenant: Tenant) -> None:
    expired = await issue(app, tenant, Role.OWNER, expires_in=timedelta(seconds=-1))
    assert_401(await client.get(tenant.base, headers=bearer(expired.secret)))
    assert_401(await client.post(tenant.base, json={"name": "x"}, headers=bearer(expired.secret)))
    fresh = await issue(app, tenant, Role.OWNER, expires_in=timedelta(hours=1))
    assert (await client.get(tenant.base, headers=bearer(fresh.secret))).status_code == 200


async def test_revoked_key_for_another_org_is_401_not_403(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    issued = await issue(app, tenant, Role.OWNER)
    async with app.state.services.db.transaction() as conn:
        await tokens.revoke_token(conn, org_id=tenant.org_id, token_id=issued.id)
    assert_401(await client.get(other_tenant.base, headers=bearer(issued.secret)))


async def test_key_acts_with_its_own_user_and_role(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    issued = await issue(app, tenant, Role.MEMBER)
    ws = (await client.post(tenant.base, json={"name": "k"}, headers=bearer(issued.secret))).json()
    assert ws["owner_id"] == "key-user"
    gone = await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=bearer(issued.secret))
    assert_envelope(gone, 403, "FORBIDDEN", {"required_permission": "workspace:delete"})


async def test_only_the_hash_is_stored(app: FastAPI, tenant: Tenant) -> None:
    issued = await issue(app, tenant, Role.VIEWER)
    async with app.state.services.db.reader() as conn:
        row = (await conn.execute(select(api_tokens).where(api_tokens.c.id == issued.id))).one()
    assert row.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert all(issued.secret not in str(value) for value in row)
    async with app.state.services.db.reader() as conn:
        listed = await tokens.list_tokens(conn, org_id=tenant.org_id)
    assert listed and all("token_hash" not in t for t in listed)
    assert all(issued.secret not in str(v) for t in listed for v in t.values())
