"""GET /metrics: the token, the port of its own, every family, labels that never name a tenant."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from mechamental import metrics
from tests.conftest import Tenant, make_settings
from tests.helpers import assert_envelope, running_app
from tests.metrics.conftest import SCRAPE, TOKEN, parse, scrape, value
from tests.sync.conftest import Server, new_workspace, presence, rename
from tests.sync.procs import free_port

EMBEDDED = pytest.mark.parametrize("bus", ["embedded"], indirect=True)
FAMILIES = {
    "mechamental_http_requests",
    "mechamental_http_request_duration_seconds",
    "mechamental_sync_streams",
    "mechamental_sync_stream_opens",
    "mechamental_sync_events",
    "mechamental_sync_fanout_delay_seconds",
    "mechamental_sync_slow_consumer_closes",
    "mechamental_sync_outbox_pending",
    "mechamental_presence_members",
    "mechamental_presence_calls",
    "mechamental_bucket_jobs",
    "mechamental_bucket_job_failures",
    "mechamental_db_pool_in_use",
}
# Every label a family may have, and what its values may be.
LABELS = {
    "method": {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"},
    "status": {str(code) for code in range(100, 600)},
    "outcome": {"live", "resumed", "reset", "refused"},
    "kind": {"join", "leave", "viewing", "list"},
    "type": {
        "workspace.created",
        "workspace.updated",
        "workspace.deleted",
        "workspace.bucket_status_changed",
        "presence.joined",
        "presence.left",
        "presence.viewing",
    },
    "status_job": {"queued", "running", "failed"},
    "le": None,  # histogram buckets
    "route": None,  # checked below: a template or `unmatched`
}
TEMPLATE = re.compile(r"^(/[a-z0-9_.{}-]*)+$")


@EMBEDDED
async def test_the_token(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/metrics"), 401, "AUTHENTICATION_FAILED", {})
    for wrong in ("Bearer nope", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN):
        response = await client.get("/metrics", headers={"Authorization": wrong})
        assert_envelope(response, 401, "AUTHENTICATION_FAILED", {})
    response = await client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE mechamental_http_requests_total counter" in response.text


async def test_no_token_no_route(database_url: str, tmp_path: object) -> None:
    settings = make_settings(database_url, tmp_path)  # type: ignore[arg-type]
    async with running_app(settings) as (_, client):
        response = await client.get("/metrics", headers=SCRAPE)
        assert_envelope(
            response,
            404,
            "RESOURCE_NOT_FOUND",
            {"resource_type": "route", "resource_id": "/metrics"},
        )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_metrics_port(database_url: str, tmp_path: object) -> None:
    port = free_port()
    settings = make_settings(database_url, tmp_path, metrics_port=port)  # type: ignore[arg-type]
    async with running_app(settings) as (_, client):
        assert (await client.get("/metrics", headers=SCRAPE)).status_code == 404  # no token
        await client.get("/healthz")
        async with httpx.AsyncClient() as outside:
            response = await outside.get(f"http://127.0.0.1:{port}/metrics")
        assert response.status_code == 200
        samples = parse(response.text)
        route = {"method": "GET", "route": "/healthz", "status": "200"}
        assert value(samples, "mechamental_http_requests_total", **route) >= 1
        assert ("mechamental_sync_outbox_pending", ()) in samples  # read from the thread
    with pytest.raises(httpx.ConnectError):  # closed with the app
        async with httpx.AsyncClient() as outside:
            await outside.get(f"http://127.0.0.1:{port}/metrics")


@EMBEDDED
async def test_requests_count_by_route_template(client: httpx.AsyncClient, tenant: Tenant) -> None:
    ws_id = await new_workspace(client, tenant)
    route = {"method": "GET", "route": "/v1/orgs/{org_id}/workspaces/{workspace_id}"}
    before = await scrape(client)
    for _ in range(3):
        assert (await client.get(f"{tenant.base}/{ws_id}", headers=tenant.headers())).is_success
    await client.get("/no/such/route")
    after = await scrape(client)
    count = "mechamental_http_requests_total"
    assert (
        value(after, count, **route, status="200") - value(before, count, **route, status="200")
        == 3
    )
    duration = "mechamental_http_request_duration_seconds_count"
    assert value(after, duration, **route) - value(before, duration, **route) == 3
    missing = {"method": "GET", "route": metrics.UNMATCHED, "status": "404"}
    assert value(after, count, **missing) - value(before, count, **missing) == 1


@EMBEDDED
async def test_every_family_and_no_tenant_in_any_label(
    server: Server, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    secrets: set[str] = set()
    for org in (tenant, other_tenant):
        ws_id = await new_workspace(client, org)
        stream = await server.stream(org, ws_id)
        await stream.next()
        await rename(client, org, ws_id, "renamed")
        await stream.until("workspace.updated")
        await presence(client, org, ws_id, "join")
        await presence(client, org, ws_id, "viewing", resource_type="doc", resource_id="d-1")
        await client.get(f"{org.base}/{ws_id}/sync/presence", headers=org.headers())
        await client.get(f"{org.base}/{ws_id}?x={org.org_id}", headers=org.headers())
        await client.get(f"/v1/orgs/{org.org_id}/nothing/{ws_id}", headers=org.headers())
        stream.close()
        secrets |= {org.org_id, ws_id, "d-1", *org.tokens.values(), *org.users.values()}
    response = await client.get("/metrics", headers=SCRAPE)
    text = response.text
    for secret in secrets:
        assert secret not in text
    names = {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")}
    assert {n.removesuffix("_total") for n in names} >= FAMILIES
    samples = parse(text)
    for name, labels in samples:
        assert name.startswith("mechamental_"), name
        for key, label in labels:
            if key == "route":
                assert label == metrics.UNMATCHED or TEMPLATE.match(label), label
                continue
            allowed = LABELS["status_job"] if name == "mechamental_bucket_jobs" else LABELS[key]
            assert allowed is None or label in allowed, (name, key, label)
    assert len(samples) < 1000


@EMBEDDED
async def test_probes(client: httpx.AsyncClient, app: FastAPI) -> None:
    live = await client.get("/livez")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    ready = (await client.get("/readyz")).json()
    assert ready["status"] == "ok" and ready["checks"] == {"database": "ok"}


@pytest.mark.parametrize("bus", ["redis", "cluster"], indirect=True)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_readyz_checks_redis(client: httpx.AsyncClient) -> None:
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}


@EMBEDDED
async def test_documented(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/openapi.json")).json()
    operation = doc["paths"]["/metrics"]["get"]
    assert set(operation["responses"]) >= {"200", "401", "404"}
    assert "text/plain" in operation["responses"]["200"]["content"]
    for code in ("401", "404"):
        schema = operation["responses"][code]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ErrorBody")
    params = {(p["in"], p["name"]) for p in operation["parameters"]}
    assert ("header", "authorization") in params
    assert doc["paths"]["/livez"]["get"]["summary"] == "Process is alive"
