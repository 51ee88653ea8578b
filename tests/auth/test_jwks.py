"""JWTs from an identity provider: keys from a real JWKS server that rotates, slows and dies.

The server counts its fetches, which is what proves the rules: a known `kid` never fetches,
an unknown one fetches at most once per `JWT_JWKS_MIN_REFETCH_SECONDS` (the verifier's clock
is moved forward instead of sleeping), concurrent requests share one fetch, and a stale set
is refreshed in the background while requests keep using the keys they have.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from pydantic import ValidationError

from mechamental.auth.jwks import JWKSKeys
from mechamental.auth.jwt_verifier import JWTVerifier
from mechamental.clock import Clock
from tests.auth.jwks_server import JWKSServer, SigningKey
from tests.auth.test_jwt import forge
from tests.conftest import make_settings
from tests.helpers import assert_401, bearer, eventually, make_jwt, running_app

# A fetch that should succeed gets a bound no loaded CI machine reaches on loopback (a 1 s
# bound once timed the first fetch out under load: a 401 where 200 was due). Only while the
# provider hangs is the bound lowered, to HUNG_FETCH_TIMEOUT, so that the timeout is what ends it.
FETCH_TIMEOUT = 10.0
HUNG_FETCH_TIMEOUT = 1.0
HANG = 60.0  # far beyond the fetch timeout: an unknown kid's 401 must never wait on a hung provider
NS = "https://mechamental.test/"


@cache
def key(kid: str, algorithm: str = "RS256") -> SigningKey:
    """One key per kid for the whole session (RSA generation is slow)."""
    return SigningKey.generate(kid, algorithm)


@pytest.fixture
def jwks() -> Iterator[JWKSServer]:
    server = JWKSServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def org() -> str:
    """An org known only to the identity provider (it appears on first write)."""
    return f"idp-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def idp_app(
    database_url: str, tmp_path: Path, server: JWKSServer, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real app trusting `server`'s keys (the shared HS256 secret is still configured)."""
    values: dict[str, Any] = {"jwt_jwks_url": server.url, "jwt_jwks_timeout_seconds": FETCH_TIMEOUT}
    settings = make_settings(database_url, tmp_path, **{**values, **overrides})
    async with running_app(settings) as pair:
        yield pair


def verifier(app: FastAPI) -> JWTVerifier:
    jwt_verifier: JWTVerifier = app.state.services.jwt
    return jwt_verifier


def clock(app: FastAPI) -> Clock:
    return verifier(app).clock


def keys(app: FastAPI) -> JWKSKeys:
    jwks = verifier(app).jwks
    assert jwks is not None
    return jwks


async def wait_for(condition: Callable[[], bool]) -> None:
    """Until `condition()` holds (the JWKS server's thread and background fetches)."""

    async def probe() -> bool:
        return condition()

    await eventually(probe, bool)


async def status(c: httpx.AsyncClient, org: str, token: str) -> int:
    """The status of listing the org's workspaces with `token`; a 401 must be the envelope."""
    response = await c.get(f"/v1/orgs/{org}/workspaces", headers=bearer(token))
    if response.status_code == 401:
        assert_401(response)
    return response.status_code


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
async def test_provider_keys_verify_and_known_kids_never_refetch(
    database_url: str, tmp_path: Path, jwks: JWKSServer, org: str, algorithm: str
) -> None:
    signer = key(f"{algorithm}-a", algorithm)
    jwks.publish(signer)
    async with idp_app(database_url, tmp_path, jwks) as (app, c):
        token = signer.token(org_id=org, sub="idp|alice", role="admin")
        created = await c.post(f"/v1/orgs/{org}/workspaces", json={"name": "idp"},
                               headers=bearer(token))  # fmt: skip
        assert created.status_code == 201, created.text
        assert created.json()["owner_id"] == "idp|alice"
        for i in range(20):  # new tokens each time: verified, not served from the cache
            assert await status(c, org, signer.token(org_id=org, sub=f"u{i}")) == 200
        assert jwks.fetches == 1
        principal = await verifier(app).verify(token)
        assert principal is not None and principal.user_id == "idp|alice"
        assert principal.expires_at == float(_claims(token)["exp"])


def _claims(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


async def test_rotation_new_kid_after_one_refetch_unknown_kids_once_a_minute(
    database_url: str, tmp_path: Path, jwks: JWKSServer, org: str
) -> None:
    old, new, later = key("rot-old"), key("rot-new"), key("rot-later", "ES256")
    jwks.publish(old)
    async with idp_app(database_url, tmp_path, jwks) as (app, c):
        old_token = old.token(org_id=org)
        assert await status(c, org, old_token) == 200
        assert jwks.fetches == 1

        jwks.publish(new)  # the provider rotates: the old kid goes, a new one comes
        assert await status(c, org, new.token(org_id=org)) == 200
        assert jwks.fetches == 2
        # The old key left the set: its tokens stop verifying, the cached one included.
        assert await status(c, org, old_token) == 401
        assert await status(c, org, old.token(org_id=org, sub="fresh")) == 401
        assert jwks.fetches == 2

        # An unknown kid within the minute costs nothing, even once the provider has it.
        assert await status(c, org, later.token(org_id=org)) == 401
        jwks.publish(new, later)
        assert await status(c, org, later.token(org_id=org, sub="again")) == 401
        assert jwks.fetches == 2
        clock(app).advance(61)
        assert await status(c, org, later.token(org_id=org, sub="after")) == 200
        assert jwks.fetches == 3
        for i in range(10):
            assert await status(c, org, new.token(org_id=org, sub=f"n{i}")) == 200
            assert await status(c, org, later.token(org_id=org, sub=f"l{i}")) == 200
            assert await status(c, org, key("never-published").token(org_id=org)) == 401
        assert jwks.fetches == 3


async def test_concurrent_requests_with_one_unknown_kid_share_one_fetch(
    database_url: str, tmp_path: Path, jwks: JWKSServer, org: str
) -> None:
    first, second = key("conc-a"), key("conc-b", "ES256")
    jwks.publish(first)
    async with idp_app(database_url, tmp_path, jwks) as (_, c):
        assert await status(c, org, first.token(org_id=org)) == 200
        jwks.publish(first, second)
        jwks.hold()  # every request below arrives while the one fetch is in flight
        tokens = [second.token(org_id=org, sub=f"c{i}") for i in range(20)]
        pending = asyncio.gather(*(status(c, org, t) for t in tokens))
        await wait_for(lambda: jwks.fetches == 2)
        await asyncio.sleep(0.2)  # the last of the 20 reaches the verifier meanwhile
        jwks.release()
        assert await pending == [200] * 20
        assert jwks.fetches == 2


@pytest.mark.parametrize("cache_control", ["max-age=120", None])
async def test_stale_keys_refresh_in_the_background(
    database_url: str, tmp_path: Path, jwks: JWKSServer, org: str, cache_control: str | None
) -> None:
    ttl = 120 if cache_control else 200
    signer, added = key("bg-a"), key("bg-b")
    jwks.publish(signer)
    jwks.cache_control = cache_control
    overrides = {"jwt_jwks_cache_seconds": 200}
    async with idp_app(database_url, tmp_path, jwks, **overrides) as (app, c):
        assert await status(c, org, signer.token(org_id=org)) == 200
        await wait_for(lambda: not keys(app).refreshing)
        jwks.hold()  # a triggered fetch would now stay in flight
        clock(app).advance(ttl - 2)
        assert await status(c, org, signer.token(org_id=org, sub="fresh")) == 200
        assert not keys(app).refreshing
        assert jwks.fetches == 1

        clock(app).advance(3)  # stale now: the next request starts a refresh, without waiting
        jwks.publish(signer, added)
        assert await status(c, org, signer.token(org_id=org, sub="stale")) == 200
        await wait_for(lambda: jwks.fetches == 2)
        # The provider has not answered yet, and known keys keep working meanwhile.
        assert keys(app).refreshing
        for i in range(5):
            assert await status(c, org, signer.token(org_id=org, sub=f"w{i}")) == 200
        jwks.release()
        await wait_for(lambda: not keys(app).refreshing)
        assert await status(c, org, added.token(org_id=org)) == 200  # came with the refresh
        assert jwks.fetches == 2


@pytest.mark.parametrize("failure", ["refused", "5xx", "hung", "not-a-jwks"])
async def test_provider_down_keeps_known_keys_and_unknown_kid_is_a_quick_401(
    database_url: str, tmp_path: Path, jwks: JWKSServer, org: str, failure: str
) -> None:
    signer, unknown = key("down-a", "ES256"), key("down-b")
    jwks.publish(signer)
    async with idp_app(database_url, tmp_path, jwks) as (app, c):
        assert await status(c, org, signer.token(org_id=org)) == 200
        if failure == "refused":
            jwks.stop()
        elif failure == "5xx":
            jwks.status = 503
        elif failure == "hung":
            jwks.hold()
            keys(app).timeout_seconds = HUNG_FETCH_TIMEOUT
        else:
            jwks.body = b"<html>maintenance</html>"
        jwks.publish(signer, unknown)  # would be served, were the provider up

        clock(app).advance(301)  # stale: a background refresh is tried, and fails
        assert await status(c, org, signer.token(org_id=org, sub="stale")) == 200
        await wait_for(lambda: not keys(app).refreshing)
        assert await status(c, org, signer.token(org_id=org, sub="still")) == 200

        clock(app).advance(61)
        # A hang detector, not a timing: without the fetch timeout a hung provider never answers.
        assert await asyncio.wait_for(status(c, org, unknown.token(org_id=org)), HANG) == 401
        assert await status(c, org, signer.token(org_id=org, sub="after")) == 200
        if failure != "refused":
            assert jwks.fetches == 3  # the first, the stale refresh, the unknown kid's

            jwks.status, jwks.body = 200, None  # the provider is back
            jwks.release()
            keys(app).timeout_seconds = FETCH_TIMEOUT
            clock(app).advance(61)
            assert await status(c, org, unknown.token(org_id=org, sub="back")) == 200


async def test_namespaced_claim_names(
    database_url: str, tmp_path: Path, jwks: JWKSServer, org: str
) -> None:
    signer = key("ns-a", "ES256")
    jwks.publish(signer)
    names = {
        "jwt_org_claim": NS + "org_id",
        "jwt_role_claim": NS + "role",
        "jwt_user_claim": NS + "user_id",
    }
    async with idp_app(database_url, tmp_path, jwks, **names) as (_, c):
        claims = {NS + "org_id": org, NS + "role": "member", NS + "user_id": "u-42"}
        token = signer.token(claims, org_id="", role="", sub="auth0|abc")
        created = await c.post(f"/v1/orgs/{org}/workspaces", json={"name": "ns"},
                               headers=bearer(token))  # fmt: skip
        assert created.status_code == 201, created.text
        assert created.json()["owner_id"] == "u-42"
        # The plain claims name nobody once the claim names are configured.
        assert await status(c, org, signer.token(org_id=org, role="owner")) == 401
        for wrong in ({NS + "role": "superuser"}, {NS + "role": None}, {NS + "org_id": [org]}):
            assert await status(c, org, signer.token({**claims, **wrong}, org_id=org)) == 401
        assert (
            await status(c, org, signer.token({**claims, NS + "role": "viewer"}, org_id="")) == 200
        )


def _public_pem(signer: SigningKey) -> bytes:
    data: bytes = signer.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


async def test_wrong_algorithms_and_foreign_keys_are_refused(
    database_url: str, tmp_path: Path, jwks: JWKSServer, org: str
) -> None:
    rsa_key, ec_key = key("alg-rsa"), key("alg-ec", "ES256")
    impostor = SigningKey("alg-rsa", "RS256", key("alg-impostor").private)
    secret = "an-hmac-secret-published-by-mistake-" + "s" * 16
    jwks.publish(rsa_key, ec_key)
    # An HMAC key in the set must not make HS256 acceptable; other members are skipped.
    jwks.keys += [
        {"kty": "oct", "kid": "alg-oct", "k": "YW4taG1hYy1zZWNyZXQ"},
        {**rsa_key.jwk(), "kid": "alg-enc", "use": "enc"},
        {"kty": "RSA", "kid": "alg-broken"},
        "not a key",
    ]
    claims = {"sub": "x", "org_id": org, "role": "owner", "exp": int(time.time()) + 300}
    cases = {
        "none": forge({"alg": "none", "kid": "alg-rsa"}, claims, b""),
        "hs256-with-public-pem": forge(
            {"alg": "HS256", "kid": "alg-rsa"}, claims, _public_pem(rsa_key)
        ),
        "hs256-oct-member": forge({"alg": "HS256", "kid": "alg-oct"}, claims, secret.encode()),
        "hs256-shared-secret": make_jwt(org_id=org, role="owner"),
        "rs256-names-ec-key": rsa_key.token(org_id=org, header={"kid": "alg-ec"}),
        "es256-names-rsa-key": ec_key.token(org_id=org, header={"kid": "alg-rsa"}),
        "rs384": rsa_key.token(org_id=org, algorithm="RS384"),
        "ps256": rsa_key.token(org_id=org, algorithm="PS256"),
        "enc-key": rsa_key.token(org_id=org, header={"kid": "alg-enc"}),
        "foreign-key-known-kid": impostor.token(org_id=org),
        "no-kid": make_jwt(org_id=org, key=rsa_key.private, algorithm="RS256"),
        "int-kid": forge({"alg": "RS256", "kid": 7}, claims, b""),
        "expired": rsa_key.token(org_id=org, expires_in=-60),
        "no-exp": rsa_key.token({"exp": None}, org_id=org),
        "garbage": "aaa.bbb.ccc",
    }
    async with idp_app(database_url, tmp_path, jwks) as (_, c):
        assert await status(c, org, rsa_key.token(org_id=org)) == 200
        assert await status(c, org, ec_key.token(org_id=org)) == 200
        for name, token in cases.items():
            assert await status(c, org, token) == 401, name
        # Only the encryption key's kid is unknown (it is not a signing key): one refetch.
        # Every other token is refused on its header or signature, without a fetch.
        assert jwks.fetches == 2


async def test_cached_token_does_not_outlive_exp(
    database_url: str, tmp_path: Path, jwks: JWKSServer, org: str
) -> None:
    signer = key("exp-a")
    jwks.publish(signer)
    async with idp_app(database_url, tmp_path, jwks, jwt_jwks_cache_seconds=3600) as (app, c):
        token = signer.token(org_id=org, expires_in=60)
        assert await status(c, org, token) == 200
        assert await status(c, org, token) == 200  # from the verified cache
        clock(app).advance(66)  # past exp and the 5 s leeway
        assert await status(c, org, token) == 401
        assert jwks.fetches == 1


def test_jwks_settings_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="not both"):
        make_settings("sqlite://", tmp_path, jwt_jwks_url="https://idp/jwks.json",
                      jwt_public_key="-----BEGIN PUBLIC KEY-----")  # fmt: skip
    with pytest.raises(ValidationError, match="http"):
        make_settings("sqlite://", tmp_path, jwt_jwks_url="file:///etc/passwd")
    with pytest.raises(ValidationError):
        make_settings("sqlite://", tmp_path, jwt_org_claim="")
