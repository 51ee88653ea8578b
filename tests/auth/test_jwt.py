"""JWT bearer tokens: HS256 with the shared secret, RS256/ES256 with a public key, aud/iss."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import Tenant, make_settings
from tests.helpers import (
    assert_401,
    assert_403,
    assert_workspace,
    bearer,
    create_ws,
    make_jwt,
    running_app,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """A token built by hand (for algorithms PyJWT refuses to produce)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest() if key else b""
    return f"{signing_input}.{_b64(signature)}"


async def test_valid_hs256_token(client: httpx.AsyncClient, tenant: Tenant) -> None:
    token = make_jwt(org_id=tenant.org_id, sub="alice", role="member")
    listed = await client.get(tenant.base, headers=bearer(token))
    assert listed.status_code == 200
    created = await client.post(tenant.base, json={"name": "jwt"}, headers=bearer(token))
    assert created.status_code == 201
    assert_workspace(created.json())
    assert created.json()["owner_id"] == "alice"
    url = f"{tenant.base}/{created.json()['workspace_id']}"
    assert (await client.put(url, json={"name": "j2"}, headers=bearer(token))).status_code == 200
    assert_403(await client.delete(url, headers=bearer(token)), "workspace:delete")


@pytest.mark.parametrize("role", ["owner", "admin", "member", "viewer"])
async def test_role_claim_is_enforced(client: httpx.AsyncClient, tenant: Tenant, role: str) -> None:
    token = make_jwt(org_id=tenant.org_id, role=role)
    response = await client.post(tenant.base, json={"name": "x"}, headers=bearer(token))
    assert response.status_code == (403 if role == "viewer" else 201)
    assert (await client.get(tenant.base, headers=bearer(token))).status_code == 200


def _hs512(org_id: str) -> str:
    with warnings.catch_warnings():  # PyJWT warns that the key is short for SHA-512
        warnings.simplefilter("ignore")
        return make_jwt(org_id=org_id, algorithm="HS512")


BAD_TOKENS: dict[str, Callable[[str], str]] = {
    "expired": lambda org: make_jwt(org_id=org, expires_in=-60),
    "wrong-secret": lambda org: make_jwt(org_id=org, key="another-secret-" + "y" * 32),
    "no-sub": lambda org: make_jwt(org_id=org, drop=("sub",)),
    "no-org": lambda org: make_jwt(org_id=org, drop=("org_id",)),
    "no-role": lambda org: make_jwt(org_id=org, drop=("role",)),
    "no-exp": lambda org: make_jwt(org_id=org, drop=("exp",)),
    "bad-role": lambda org: make_jwt(org_id=org, role="superuser"),
    "role-case": lambda org: make_jwt(org_id=org, role="Owner"),
    "role-null": lambda org: make_jwt({"role": None}, org_id=org),
    "empty-sub": lambda org: make_jwt(org_id=org, sub=""),
    "int-sub": lambda org: make_jwt({"sub": 42}, org_id=org),
    "empty-org": lambda org: make_jwt({"org_id": ""}),
    "list-org": lambda org: make_jwt({"org_id": [org]}),
    "long-sub": lambda org: make_jwt(org_id=org, sub="u" * 201),
    "nul-sub": lambda org: make_jwt(org_id=org, sub="a\x00b"),
    "hs512": _hs512,
    "alg-none": lambda org: forge(
        {"alg": "none", "typ": "JWT"},
        {"sub": "x", "org_id": org, "role": "owner", "exp": 4102444800},
        b"",
    ),
    "truncated": lambda org: make_jwt(org_id=org)[:-4],
    "garbage": lambda org: "aaa.bbb.ccc",
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_invalid_tokens_are_401(client: httpx.AsyncClient, tenant: Tenant, case: str) -> None:
    token = BAD_TOKENS[case](tenant.org_id)
    assert_401(await client.get(tenant.base, headers=bearer(token)))
    response = await client.post(tenant.base, json={"name": "x"}, headers=bearer(token))
    assert_401(response)
    assert (await client.get(tenant.base, headers=tenant.headers())).json()["total"] == 0


async def test_token_for_another_org_is_403(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ws = await create_ws(client, tenant)
    token = make_jwt(org_id=other_tenant.org_id, role="owner")
    assert_403(await client.get(tenant.base, headers=bearer(token)), "workspace:read")
    url = f"{tenant.base}/{ws['workspace_id']}"
    assert_403(await client.get(url, headers=bearer(token)), "workspace:read")
    assert_403(await client.delete(url, headers=bearer(token)), "workspace:delete")
    assert (await client.get(url, headers=tenant.headers())).json() == ws


async def test_org_known_only_to_the_issuer_appears_on_first_write(
    client: httpx.AsyncClient,
) -> None:
    org = f"ext-{uuid.uuid4().hex[:12]}"
    token = make_jwt(org_id=org, role="admin", sub="ext-user")
    base = f"/v1/orgs/{org}/workspaces"
    empty = await client.get(base, headers=bearer(token))
    assert empty.status_code == 200 and empty.json()["total"] == 0
    created = await client.post(base, json={"name": "first"}, headers=bearer(token))
    assert created.status_code == 201 and created.json()["owner_id"] == "ext-user"
    page = (await client.get(base, headers=bearer(token))).json()
    assert page["total"] == 1 and page["workspaces"] == [created.json()]


async def test_org_id_claim_longer_than_an_org_id_is_401(client: httpx.AsyncClient) -> None:
    org = "o" * 65
    token = make_jwt(org_id=org, role="owner")
    response = await client.post(f"/v1/orgs/{org}/workspaces", json={"name": "x"},
                                 headers=bearer(token))  # fmt: skip
    assert_401(response)


async def test_audience_and_issuer_when_configured(
    database_url: str, tmp_path: Path, tenant: Tenant
) -> None:
    settings = make_settings(
        database_url, tmp_path, jwt_audience="mm-api", jwt_issuer="https://idp"
    )
    async with running_app(settings) as (_, c):
        good = make_jwt({"aud": "mm-api", "iss": "https://idp"}, org_id=tenant.org_id)
        assert (await c.get(tenant.base, headers=bearer(good))).status_code == 200
        for claims, drop in (
            ({"aud": "other", "iss": "https://idp"}, ()),
            ({"aud": "mm-api", "iss": "https://evil"}, ()),
            ({"iss": "https://idp"}, ("aud",)),
            ({"aud": "mm-api"}, ("iss",)),
        ):
            token = make_jwt(claims, org_id=tenant.org_id, drop=drop)
            assert_401(await c.get(tenant.base, headers=bearer(token)))


def _pem_public(key: Any) -> str:
    data: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data.decode()


@pytest.mark.parametrize("kind", ["rsa", "ec", "rsa-file"])
async def test_public_key_tokens(
    database_url: str, tmp_path: Path, tenant: Tenant, kind: str
) -> None:
    if kind.startswith("rsa"):
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        algorithm = "RS256"
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        algorithm = "ES256"
    public = _pem_public(private)
    configured = public
    if kind == "rsa-file":
        path = tmp_path / "jwt.pem"
        path.write_text(public)
        configured = str(path)
    settings = make_settings(database_url, tmp_path, jwt_public_key=configured)
    async with running_app(settings) as (_, c):
        token = make_jwt(org_id=tenant.org_id, key=private, algorithm=algorithm, sub="pk-user")
        created = await c.post(tenant.base, json={"name": "pk"}, headers=bearer(token))
        assert created.status_code == 201 and created.json()["owner_id"] == "pk-user"
        # The shared secret no longer works, nor does the public key used as an HMAC secret.
        assert_401(await c.get(tenant.base, headers=bearer(make_jwt(org_id=tenant.org_id))))
        confused = forge(
            {"alg": "HS256", "typ": "JWT"},
            {"sub": "x", "org_id": tenant.org_id, "role": "owner", "exp": 4102444800},
            public.encode(),
        )
        assert_401(await c.get(tenant.base, headers=bearer(confused)))
        other = (
            ec.generate_private_key(ec.SECP256R1())
            if algorithm == "ES256"
            else (rsa.generate_private_key(public_exponent=65537, key_size=2048))
        )
        wrong = make_jwt(org_id=tenant.org_id, key=other, algorithm=algorithm)
        assert_401(await c.get(tenant.base, headers=bearer(wrong)))
        expired = make_jwt(org_id=tenant.org_id, key=private, algorithm=algorithm, expires_in=-60)
        assert_401(await c.get(tenant.base, headers=bearer(expired)))


async def test_jwts_refused_when_not_configured(
    database_url: str, tmp_path: Path, tenant: Tenant
) -> None:
    settings = make_settings(database_url, tmp_path, jwt_secret=None)
    async with running_app(settings) as (_, c):
        assert_401(await c.get(tenant.base, headers=bearer(make_jwt(org_id=tenant.org_id))))
        assert (await c.get(tenant.base, headers=tenant.headers())).status_code == 200
