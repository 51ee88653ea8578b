"""CORS: listed origins on every /v1 route (and errors), preflights with each route's methods.

The stream's CORS headers, which the fan-out sends itself, are checked on a real server in
tests/sync/test_tickets.py; a real browser checks all of it in tests/browser.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from mechamental.config import Settings
from tests.conftest import Tenant, create_tenant, make_settings
from tests.helpers import create_ws, running_app

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # CORS is not about the DB

ALLOWED = "http://127.0.0.1:19101"
ALSO_ALLOWED = "https://app.example.com"
STRANGER = "http://evil.example"
REQUIRED_ALLOW_HEADERS = {
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "idempotency-key",
    "last-event-id",
    "x-request-id",
}
EXPOSED = {"etag", "x-request-id", "idempotent-replayed", "retry-after"}


def _split(value: str | None) -> set[str]:
    return {part.strip().lower() for part in (value or "").split(",") if part.strip()}


@pytest.fixture
async def cors(
    database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = make_settings(database_url, tmp_path, cors_origins=f"{ALLOWED},{ALSO_ALLOWED}")
    async with running_app(settings) as pair:
        yield pair


def _v1_routes(app: FastAPI) -> dict[str, set[str]]:
    """Every /v1 path template in the OpenAPI document and the methods it lists."""
    return {
        path: {method.upper() for method in operations}
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/v1/")
    }


def _concrete(template: str) -> str:
    return re.sub(r"{[^}]+}", "some-id", template)


@SQLITE
async def test_preflight_on_every_route_answers_its_own_methods(
    cors: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = cors
    routes = _v1_routes(app)
    assert any(path.endswith("/sync/stream") for path in routes)
    assert any(path.endswith("/sync/tickets") for path in routes)
    for template, methods in routes.items():
        for origin in (ALLOWED, ALSO_ALLOWED):
            response = await client.options(
                _concrete(template),
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": sorted(methods)[0],
                    "Access-Control-Request-Headers": "authorization, if-match",
                },
            )
            assert response.status_code == 204, (template, response.text)
            headers = response.headers
            assert headers["access-control-allow-origin"] == origin
            assert headers["access-control-allow-credentials"] == "true"
            assert "origin" in _split(headers.get("vary"))
            assert _split(headers["access-control-allow-methods"]) == {m.lower() for m in methods}
            assert _split(headers["access-control-allow-headers"]) >= REQUIRED_ALLOW_HEADERS
            assert int(headers["access-control-max-age"]) > 0


@SQLITE
async def test_an_unlisted_origin_gets_no_cors_headers_and_no_error(
    cors: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = cors
    db = app.state.services.db
    tenant = await create_tenant(db, "cors")
    preflight = await client.options(
        tenant.base, headers={"Origin": STRANGER, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 204
    assert not [h for h in preflight.headers if h.startswith("access-control-")]
    listed = await client.get(tenant.base, headers={**tenant.headers(), "Origin": STRANGER})
    assert listed.status_code == 200
    assert not [h for h in listed.headers if h.startswith("access-control-")]
    # A prefix or a variant of a listed origin is another origin.
    for near in (ALLOWED + "0", ALLOWED.replace("http:", "https:"), ALLOWED + "/", "null"):
        response = await client.get(tenant.base, headers={**tenant.headers(), "Origin": near})
        assert "access-control-allow-origin" not in response.headers, near


@SQLITE
async def test_listed_origin_reads_responses_and_errors(
    cors: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, client = cors
    tenant = await create_tenant(app.state.services.db, "cors")
    origin = {"Origin": ALLOWED}
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}"
    got = await client.get(url, headers={**tenant.headers(), **origin})
    assert got.status_code == 200
    _assert_cors(got, ALLOWED)
    assert got.headers["etag"]
    # The errors a browser must be able to read: 401, 403, 404, 412, 422.
    assert_errors = [
        (await client.get(url, headers=origin), 401),
        (await client.delete(url, headers={**tenant.headers("member"), **origin}), 403),
        (await client.get(f"{tenant.base}/missing", headers={**tenant.headers(), **origin}), 404),
        (
            await client.put(
                url,
                json={"name": "x"},
                headers={**tenant.headers(), **origin, "If-Match": '"stale"'},
            ),
            412,
        ),
        (await client.post(tenant.base, json={}, headers={**tenant.headers(), **origin}), 422),
    ]
    for response, status in assert_errors:
        assert response.status_code == status, response.text
        _assert_cors(response, ALLOWED)


def _assert_cors(response: httpx.Response, origin: str) -> None:
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "origin" in _split(response.headers.get("vary"))
    assert _split(response.headers["access-control-expose-headers"]) >= EXPOSED


@SQLITE
async def test_any_origin_is_without_credentials(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, cors_origins="*")
    async with running_app(settings) as (app, client):
        tenant = await create_tenant(app.state.services.db, "cors")
        response = await client.get(tenant.base, headers={**tenant.headers(), "Origin": STRANGER})
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in response.headers
        assert _split(response.headers["access-control-expose-headers"]) >= EXPOSED
        preflight = await client.options(
            tenant.base, headers={"Origin": STRANGER, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in preflight.headers


@SQLITE
async def test_without_origins_no_cors_headers(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get(tenant.base, headers={**tenant.headers(), "Origin": ALLOWED})
    assert response.status_code == 200
    assert not [h for h in response.headers if h.startswith("access-control-")]
    preflight = await client.options(
        tenant.base, headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 204
    assert not [h for h in preflight.headers if h.startswith("access-control-")]
    # OPTIONS that is not a preflight, and a preflight to no route, are what they were.
    plain = await client.options(tenant.base, headers=tenant.headers())
    assert plain.status_code == 405
    nowhere = await client.options(
        "/v1/nowhere", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"}
    )
    assert nowhere.status_code == 404


@pytest.mark.parametrize(
    "value",
    ["http://a.example/", "a.example", "http://a.example/path", "*,http://a.example", "ftp://x"],
)
def test_origins_setting_refuses_what_is_not_an_origin(value: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        Settings(env="development", data_dir=tmp_path, cors_origins=value)


def test_origins_setting_splits_a_list(tmp_path: Path) -> None:
    settings = Settings(
        env="development", data_dir=tmp_path, cors_origins=" http://a:1 , https://[::1]:8443 "
    )
    assert settings.cors_origins == ("http://a:1", "https://[::1]:8443")
