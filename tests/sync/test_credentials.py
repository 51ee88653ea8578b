"""Credentials end open streams: a revoked key (directly or through its tickets), a key's
`expires_at`, a JWT's `exp`; the last frame is `sync.unauthorized`; presence follows;
a fresh ticket with the last event id misses nothing."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database
from tests.conftest import Tenant
from tests.helpers import bearer, eventually, make_jwt
from tests.sync.conftest import Server, new_workspace, rename
from tests.sync.sse import SSE, Stream, open_stream, read_error

UNAUTHORIZED_KEYS = {"id", "type", "org_id", "workspace_id", "actor_id", "occurred_at", "data"}


async def new_key(
    db: Database, tenant: Tenant, user_id: str, *, expires_in: float | None = None
) -> tokens.IssuedToken:
    async with db.transaction() as conn:
        return await tokens.create_token(
            conn,
            org_id=tenant.org_id,
            user_id=user_id,
            role=Role.MEMBER,
            expires_in=timedelta(seconds=expires_in) if expires_in else None,
        )


async def revoke(db: Database, tenant: Tenant, token_id: str) -> None:
    async with db.transaction() as conn:
        assert await tokens.revoke_token(conn, org_id=tenant.org_id, token_id=token_id)


async def open_with(server: Server, tenant: Tenant, ws_id: str, secret: str) -> Stream:
    stream = await server.stream(tenant, ws_id, token=secret)
    assert stream.status == 200
    assert (await stream.next()).event == "sync.connected"
    return stream


async def ticket_url(client: httpx.AsyncClient, tenant: Tenant, ws_id: str, secret: str) -> str:
    response = await client.post(f"{tenant.base}/{ws_id}/sync/tickets", headers=bearer(secret))
    assert response.status_code == 201, response.text
    url: str = response.json()["stream_url"]
    return url


def assert_unauthorized(events: list[SSE], reason: str, tenant: Tenant, ws_id: str) -> None:
    """The stream ended with `sync.unauthorized` for `reason`, and nothing after it."""
    assert events, "the stream ended without a frame"
    last = events[-1]
    assert last.event == "sync.unauthorized", [e.event for e in events]
    assert last.id is None  # no resume point: Last-Event-ID stays the last event received
    assert set(last.data) == UNAUTHORIZED_KEYS
    assert last.data["type"] == "sync.unauthorized" and last.data["id"] is None
    assert last.data["data"] == {"reason": reason}
    assert last.data["org_id"] == tenant.org_id and last.data["workspace_id"] == ws_id


async def test_revoking_a_key_ends_its_streams_and_its_tickets_streams(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    db = server.app.state.services.db
    ws_id = await new_workspace(client, tenant)
    doomed = await new_key(db, tenant, "doomed-user")
    spare = await new_key(db, tenant, "doomed-user")  # the same user's other key lives on
    direct = await open_with(server, tenant, ws_id, doomed.secret)
    url = await ticket_url(client, tenant, ws_id, doomed.secret)
    via_ticket = await open_stream(server.port, url)
    assert (await via_ticket.next()).event == "sync.connected"
    bystander = await open_with(server, tenant, ws_id, spare.secret)
    await rename(client, tenant, ws_id, "before")
    seen = [(await stream.next()) for stream in (direct, via_ticket, bystander)]
    assert [e.event for e in seen] == ["workspace.updated"] * 3
    last_received = seen[0].id

    await revoke(db, tenant, doomed.id)
    for stream in (direct, via_ticket):
        assert_unauthorized(await stream.wait_end(), "token_revoked", tenant, ws_id)
    # Not every stream of the user: the other key's stream goes on.
    await rename(client, tenant, ws_id, "while away")
    missed = await bystander.next()
    assert missed.data["data"]["changes"] == {"name": "while away"}

    # The dead key and its ticket open nothing.
    refused = await server.stream(tenant, ws_id, token=doomed.secret)
    assert refused.status == 401
    assert (await read_error(refused))["error"] == "AUTHENTICATION_FAILED"
    assert (await open_stream(server.port, url)).status == 401
    # A fresh ticket and the last event id received: nothing missed, nothing twice.
    fresh = await ticket_url(client, tenant, ws_id, spare.secret)
    resumed = await open_stream(server.port, f"{fresh}&last_event_id={last_received}")
    assert resumed.status == 200
    connected = await resumed.next()
    assert connected.event == "sync.connected" and connected.data["data"]["resumed"] is True
    replayed = await resumed.next()
    assert replayed.id == missed.id and replayed.data == missed.data
    await rename(client, tenant, ws_id, "after")
    assert (await resumed.next()).data["data"]["changes"] == {"name": "after"}
    for stream in (resumed, bystander):
        stream.close()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_presence_follows_a_member_whose_streams_a_revocation_ended(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    db = server.app.state.services.db
    hub = server.hub
    ws_id = await new_workspace(client, tenant)
    watcher = await open_with(server, tenant, ws_id, tenant.tokens["owner"])
    doomed = await new_key(db, tenant, "doomed-user")
    tab = await open_with(server, tenant, ws_id, doomed.secret)
    joined = await client.post(
        f"{tenant.base}/{ws_id}/sync/presence/join", headers=bearer(doomed.secret)
    )
    assert joined.status_code == 200
    assert (await watcher.next()).event == "presence.joined"
    hub.clock.advance(hub.presence.ttl * 2)  # only the open stream keeps the member now
    await hub.presence.sweep()
    await revoke(db, tenant, doomed.id)
    assert_unauthorized(await tab.wait_end(), "token_revoked", tenant, ws_id)

    async def streams() -> int:
        await hub.presence.flush()
        return hub.presence.open_streams(ws_id, "doomed-user")

    await eventually(streams, lambda n: n == 0)
    hub.clock.advance(hub.presence.grace - 1)
    await hub.presence.sweep()
    hub.clock.advance(2)
    await hub.presence.sweep()
    left = await watcher.next()
    assert left.event == "presence.left" and left.data["actor_id"] == "doomed-user"
    watcher.close()


async def test_a_keys_expiry_ends_its_streams(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    db = server.app.state.services.db
    ws_id = await new_workspace(client, tenant)
    brief = await new_key(db, tenant, "brief-user", expires_in=3)
    direct = await open_with(server, tenant, ws_id, brief.secret)
    via_ticket = await open_stream(
        server.port, await ticket_url(client, tenant, ws_id, brief.secret)
    )
    assert (await via_ticket.next()).event == "sync.connected"
    for stream in (direct, via_ticket):
        assert_unauthorized(await stream.wait_end(within=30), "token_expired", tenant, ws_id)
    assert (await server.stream(tenant, ws_id, token=brief.secret)).status == 401


async def test_a_jwts_exp_ends_its_streams(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    token = make_jwt(org_id=tenant.org_id, sub="jwt-user", role="viewer", expires_in=3)
    direct = await open_with(server, tenant, ws_id, token)
    via_ticket = await open_stream(server.port, await ticket_url(client, tenant, ws_id, token))
    assert (await via_ticket.next()).event == "sync.connected"
    for stream in (direct, via_ticket):
        assert_unauthorized(await stream.wait_end(within=30), "token_expired", tenant, ws_id)
    assert (await server.stream(tenant, ws_id, token=token)).status == 401


async def test_revoking_over_http_ends_the_stream(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    db = server.app.state.services.db
    ws_id = await new_workspace(client, tenant)
    doomed = await new_key(db, tenant, "doomed-user")
    stream = await open_with(server, tenant, ws_id, doomed.secret)
    deleted = await client.delete(
        f"/v1/orgs/{tenant.org_id}/api-keys/{doomed.id}", headers=tenant.headers("admin")
    )
    assert deleted.status_code == 204, deleted.text
    assert_unauthorized(await stream.wait_end(), "token_revoked", tenant, ws_id)
