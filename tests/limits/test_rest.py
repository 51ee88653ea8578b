"""Token buckets through the real app: headers, the 429, recovery, credential vs org scope.

Every test runs on SQLite and PostgreSQL, with the limiter in memory and on Redis. Time is
the app's clock (`Services.clock`), moved forward instead of slept.
"""

from __future__ import annotations

import re
import time

import httpx
import jwt
import pytest
from fastapi import FastAPI

from tests.conftest import JWT_SECRET, Tenant, create_tenant
from tests.helpers import assert_envelope

# A policy member and a RateLimit member (draft-ietf-httpapi-ratelimit-headers-12).
POLICY = re.compile(r'^"(?P<name>[a-z]+\.[a-z]+)";q=(?P<q>\d+);w=(?P<w>\d+)$')
STATE = re.compile(r'^"(?P<name>[a-z]+\.[a-z]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


def parse(value: str, pattern: re.Pattern[str]) -> dict[str, dict[str, int]]:
    """A header's members by policy name."""
    members: dict[str, dict[str, int]] = {}
    for member in value.split(", "):
        found = pattern.match(member)
        assert found, value
        fields = found.groupdict()
        name = fields.pop("name")
        members[name] = {k: int(v) for k, v in fields.items()}
    return members


def advance(app: FastAPI, seconds: float) -> None:
    """Move the app's clock (the limiter's time) forward."""
    app.state.services.clock.advance(seconds)


@pytest.mark.limits(
    tuning={"rest_credential_rate": 0.01, "rest_credential_burst": 3},
    cors_origins=("https://app.example.com",),
)
async def test_headers_refusal_and_recovery(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    origin = {"Origin": "https://app.example.com"}
    seen = []
    for _ in range(3):
        response = await client.get(tenant.base, headers={**tenant.headers(), **origin})
        assert response.status_code == 200
        seen.append(parse(response.headers["ratelimit"], STATE)["rest.credential"]["r"])
    policy = parse(response.headers["ratelimit-policy"], POLICY)
    assert policy["rest.credential"] == {"q": 3, "w": 300}
    assert policy["rest.org"] == {"q": 10_000, "w": 10}
    assert seen == [2, 1, 0]
    exposed = {
        h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {"ratelimit", "ratelimit-policy", "retry-after"} <= exposed

    refused = await client.get(tenant.base, headers={**tenant.headers(), **origin})
    body = assert_envelope(refused, 429, "RATE_LIMITED")
    wait = body["details"].pop("retry_after_seconds")
    assert body["details"] == {"limit": 3, "window_seconds": 300, "scope": "credential"}
    # One call refills in 100 s of the app's clock, less the real time the calls took.
    assert 99 <= wait <= 100
    assert refused.headers["retry-after"] == str(wait)
    state = parse(refused.headers["ratelimit"], STATE)["rest.credential"]
    assert state["r"] == 0
    assert 299 <= state["t"] <= 300
    assert "ratelimit-policy" in refused.headers
    assert refused.headers["access-control-allow-origin"] == "https://app.example.com"

    advance(app, 100)  # one call refills
    assert (await client.get(tenant.base, headers=tenant.headers())).status_code == 200
    assert (await client.get(tenant.base, headers=tenant.headers())).status_code == 429
    advance(app, 300)  # the bucket is whole again
    for _ in range(3):
        assert (await client.get(tenant.base, headers=tenant.headers())).status_code == 200


@pytest.mark.limits(tuning={"rest_credential_rate": 0.01, "rest_credential_burst": 2})
async def test_each_credential_has_its_own_bucket(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    for _ in range(2):
        assert (await client.get(tenant.base, headers=tenant.headers("owner"))).status_code == 200
    assert (await client.get(tenant.base, headers=tenant.headers("owner"))).status_code == 429
    # Another key of the same org, and a refused call that was forbidden anyway, still count apart.
    assert (await client.get(tenant.base, headers=tenant.headers("viewer"))).status_code == 200
    forbidden = await client.post(tenant.base, json={"name": "x"}, headers=tenant.headers("viewer"))
    assert forbidden.status_code == 403
    assert (await client.get(tenant.base, headers=tenant.headers("viewer"))).status_code == 429


@pytest.mark.limits(tuning={"rest_org_rate": 0.01, "rest_org_burst": 3})
async def test_org_scope_spans_credentials_and_spares_other_orgs(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    for role in ("owner", "admin", "member"):
        assert (await client.get(tenant.base, headers=tenant.headers(role))).status_code == 200
    refused = await client.get(tenant.base, headers=tenant.headers("viewer"))
    body = assert_envelope(refused, 429, "RATE_LIMITED")
    assert body["details"]["scope"] == "org"
    assert body["details"]["limit"] == 3
    assert body["details"]["window_seconds"] == 300
    wait = body["details"]["retry_after_seconds"]
    assert wait == int(refused.headers["retry-after"])
    assert 99 <= wait <= 100  # 100 s on the app's clock, less the real time the calls took
    assert (await client.get(other_tenant.base, headers=other_tenant.headers())).status_code == 200
    advance(app, 100)
    assert (await client.get(tenant.base, headers=tenant.headers("viewer"))).status_code == 200


@pytest.mark.limits(
    tuning={
        "rest_credential_rate": 0.01,
        "rest_credential_burst": 1,
        "rest_org_burst": 3,
        "rest_org_rate": 0.01,
    }
)
async def test_a_call_refused_by_one_bucket_costs_the_other_nothing(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    assert (await client.get(tenant.base, headers=tenant.headers("owner"))).status_code == 200
    for _ in range(5):  # refused by the credential: the org's bucket keeps its calls
        assert (await client.get(tenant.base, headers=tenant.headers("owner"))).status_code == 429
    for role in ("admin", "member"):
        assert (await client.get(tenant.base, headers=tenant.headers(role))).status_code == 200


@pytest.mark.limits(
    tuning={
        "rest_credential_rate": 0.01,
        "rest_credential_burst": 1,
        "presence_credential_rate": 0.01,
        "presence_credential_burst": 2,
    }
)
async def test_presence_calls_have_their_own_buckets(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    created = await client.post(tenant.base, json={"name": "room"}, headers=tenant.headers())
    assert created.status_code == 201
    assert (await client.get(tenant.base, headers=tenant.headers())).status_code == 429
    sync = f"{tenant.base}/{created.json()['workspace_id']}/sync/presence"
    joined = await client.post(f"{sync}/join", headers=tenant.headers())
    assert joined.status_code == 200
    assert set(parse(joined.headers["ratelimit"], STATE)) == {"presence.credential", "presence.org"}
    assert (await client.get(sync, headers=tenant.headers())).status_code == 200
    body = assert_envelope(
        await client.post(f"{sync}/leave", headers=tenant.headers()), 429, "RATE_LIMITED"
    )
    assert body["details"]["scope"] == "credential"


@pytest.mark.limits(tuning={"rest_credential_rate": 0.01, "rest_credential_burst": 2})
async def test_a_jwt_user_is_one_credential_across_tokens(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    tenant = await create_tenant(app.state.services.db, "jwt")

    def token(jti: str) -> dict[str, str]:
        claims = {
            "sub": "ada",
            "org_id": tenant.org_id,
            "role": "member",
            "jti": jti,
            "exp": int(time.time()) + 3600,
        }
        return {"Authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}

    assert (await client.get(tenant.base, headers=token("1"))).status_code == 200
    assert (await client.get(tenant.base, headers=token("2"))).status_code == 200
    assert (await client.get(tenant.base, headers=token("3"))).status_code == 429


@pytest.mark.limits(rate_limits=False)
async def test_off_means_no_headers_and_no_limit(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(tenant.base, headers=tenant.headers())
    assert response.status_code == 200
    assert "ratelimit" not in response.headers
    assert "ratelimit-policy" not in response.headers
