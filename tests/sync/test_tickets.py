"""Stream tickets: one workspace's stream, expiry on the service's clock, death with their key;
the query token on and off; the stream's CORS headers."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database
from tests.conftest import Tenant, create_tenant
from tests.helpers import assert_envelope, bearer, make_jwt, parse_utc
from tests.sync.conftest import Server, new_workspace
from tests.sync.procs import lone_server
from tests.sync.sse import Stream, open_stream, read_error

ORIGIN = "http://127.0.0.1:19101"


async def ticket_for(
    client: httpx.AsyncClient, tenant: Tenant, ws_id: str, *, token: str | None = None
) -> dict[str, str]:
    """POST …/sync/tickets; the 201 body."""
    response = await client.post(
        f"{tenant.base}/{ws_id}/sync/tickets",
        headers=bearer(token) if token else tenant.headers("viewer"),
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, str] = response.json()
    assert set(body) == {"ticket", "expires_at", "stream_url"}
    return body


async def open_url(server: Server, url: str, headers: dict[str, str] | None = None) -> Stream:
    """Open a stream by the URL a ticket gave (no Authorization header)."""
    return await open_stream(server.port, url, headers)


async def test_a_ticket_opens_its_workspace_stream_and_nothing_else(
    server: Server, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    other_ws = await new_workspace(client, tenant)
    body = await ticket_for(client, tenant, ws_id)
    url = body["stream_url"]
    assert urlsplit(url).path == f"{tenant.base}/{ws_id}/sync/stream"
    ticket = body["ticket"]
    assert parse_qs(urlsplit(url).query) == {"ticket": [ticket]}
    lifetime = parse_utc(body["expires_at"]) - server.hub.clock.utcnow()
    assert timedelta(seconds=290) < lifetime <= timedelta(seconds=300)

    # It opens (and reopens) that stream as its caller.
    for _ in range(2):
        stream = await open_url(server, url)
        assert stream.status == 200
        connected = await stream.next()
        assert connected.event == "sync.connected"
        stream.close()

    # Another workspace's stream, another org's path, a changed ticket: 401.
    refused = [
        f"{tenant.base}/{other_ws}/sync/stream?ticket={ticket}",
        f"{other_tenant.base}/{ws_id}/sync/stream?ticket={ticket}",
        f"{url[:-3]}{'AAA' if not url.endswith('AAA') else 'BBB'}",
    ]
    for path in refused:
        stream = await open_url(server, path)
        assert stream.status == 401, path
        error = await read_error(stream)
        assert error["error"] == "AUTHENTICATION_FAILED"

    # Not a credential anywhere else: as a Bearer token, or as a query parameter.
    workspace = f"{tenant.base}/{ws_id}"
    assert (await client.get(workspace, headers=bearer(ticket))).status_code == 401
    assert (await client.get(workspace, params={"ticket": ticket})).status_code == 401
    presence = await client.post(f"{workspace}/sync/presence/join", headers=bearer(ticket))
    assert presence.status_code == 401
    again = await client.post(f"{workspace}/sync/tickets", headers=bearer(ticket))
    assert again.status_code == 401


async def test_ticket_endpoint_errors(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    url = f"{tenant.base}/{ws_id}/sync/tickets"
    assert_envelope(await client.post(url), 401, "AUTHENTICATION_FAILED", {})
    foreign = await client.post(url, headers=other_tenant.headers())
    assert_envelope(foreign, 403, "FORBIDDEN", {"required_permission": "sync:read"})
    missing = await client.post(f"{tenant.base}/nope/sync/tickets", headers=tenant.headers())
    assert missing.status_code == 404
    # The stream's query token does not make tickets.
    by_query = await client.post(url, params={"access_token": tenant.tokens["owner"]})
    assert by_query.status_code == 401


async def test_a_ticket_expires_on_the_service_clock(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    url = (await ticket_for(client, tenant, ws_id))["stream_url"]
    server.hub.clock.advance(299)
    stream = await open_url(server, url)
    assert stream.status == 200
    stream.close()
    server.hub.clock.advance(2)
    expired = await open_url(server, url)
    assert expired.status == 401
    assert "ticket" in (await read_error(expired))["message"]


async def test_a_ticket_dies_with_its_key_and_never_outlives_it(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    db = server.app.state.services.db
    async with db.transaction() as conn:
        key = await tokens.create_token(
            conn,
            org_id=tenant.org_id,
            user_id="ticket-user",
            role=Role.VIEWER,
            expires_in=timedelta(seconds=120),
        )
    body = await ticket_for(client, tenant, ws_id, token=key.secret)
    # The key ends in 120 s: so does its ticket.
    lifetime = parse_utc(body["expires_at"]) - server.hub.clock.utcnow()
    assert timedelta(seconds=110) < lifetime <= timedelta(seconds=120)
    stream = await open_url(server, body["stream_url"])
    assert stream.status == 200
    stream.close()
    async with db.transaction() as conn:
        assert await tokens.revoke_token(conn, org_id=tenant.org_id, token_id=key.id)
    dead = await open_url(server, body["stream_url"])
    assert dead.status == 401


async def test_a_jwt_ticket_ends_with_the_jwt(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    token = make_jwt(org_id=tenant.org_id, role="viewer", expires_in=60)
    body = await ticket_for(client, tenant, ws_id, token=token)
    lifetime = parse_utc(body["expires_at"]) - server.hub.clock.utcnow()
    assert lifetime <= timedelta(seconds=60)
    stream = await open_url(server, body["stream_url"])
    assert stream.status == 200
    first = await stream.next()
    assert first.event == "sync.connected"
    stream.close()


async def test_query_token_is_off_outside_development_and_says_why(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    path = f"{tenant.base}/{ws_id}/sync/stream?access_token={tenant.tokens['viewer']}"
    stream = await open_stream(server.port, path)
    assert stream.status == 401
    error = await read_error(stream)
    assert error["error"] == "AUTHENTICATION_FAILED"
    assert "ticket" in error["message"] and "/sync/tickets" in error["message"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
@pytest.mark.sync_settings(cors_origins=ORIGIN)
async def test_the_stream_carries_cors_headers_for_a_listed_origin(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    url = (await ticket_for(client, tenant, ws_id))["stream_url"]
    stream = await open_url(server, url, {"Origin": ORIGIN})
    assert stream.status == 200
    assert stream.headers["access-control-allow-origin"] == ORIGIN
    assert stream.headers["access-control-allow-credentials"] == "true"
    assert (await stream.next()).event == "sync.connected"
    stream.close()
    stranger = await open_url(server, url, {"Origin": "http://elsewhere.example"})
    assert stranger.status == 200
    assert "access-control-allow-origin" not in stranger.headers
    stranger.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_tickets_are_never_logged(database_url: str, tmp_path: Path) -> None:
    # A real `mechamental serve` with its own logging, at DEBUG.
    async with lone_server(
        database_url, tmp_path, MECHAMENTAL_LOG_LEVEL="DEBUG", MECHAMENTAL_LOG_FORMAT="json"
    ) as proc:
        db = Database(database_url)
        try:
            tenant = await create_tenant(db, "logs")
        finally:
            await db.dispose()
        async with httpx.AsyncClient(base_url=proc.url, timeout=20) as client:
            ws_id = await new_workspace(client, tenant)
            body = await ticket_for(client, tenant, ws_id)
            stream = await open_stream(proc.port, body["stream_url"])
            assert stream.status == 200
            assert (await stream.next()).event == "sync.connected"
            stream.close()
            bad = await open_stream(proc.port, body["stream_url"] + "x")
            assert bad.status == 401
            bad.close()
            # One more request, so that the stream lines above are surely written.
            assert (await client.get("/healthz")).status_code == 200
        assert proc.log is not None
        logged = proc.log.read_text()
        assert "/sync/stream" in logged and "/sync/tickets" in logged  # requests were logged
        assert body["ticket"] not in logged
        assert body["ticket"].split(".")[2] not in logged  # not even its signature
