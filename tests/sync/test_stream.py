"""The event stream: SSE framing, the opening snapshot, every workspace event type, errors."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from mechamental.buckets.state import set_bucket_status
from tests.conftest import Tenant
from tests.helpers import assert_envelope, assert_workspace, make_jwt
from tests.sync.conftest import Server, new_workspace, rename
from tests.sync.sse import open_stream, read_error

EVENT_KEYS = {"id", "type", "org_id", "workspace_id", "actor_id", "occurred_at", "data"}


async def test_retry_hints_are_spread_so_reconnects_do_not_arrive_together(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    hints = []
    for _ in range(12):
        stream = await server.stream(tenant, ws_id)
        await stream.next()
        hints.append(stream.retry)
        stream.close()
    assert all(h is not None and 1500 <= h <= 4500 for h in hints), hints
    assert len(set(hints)) > 1, hints


async def test_sse_response_and_opening(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant, name="Design", tags=["a"])
    stream = await server.stream(tenant, ws_id, "viewer")
    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert stream.headers["cache-control"] == "no-cache"
    assert stream.headers["x-accel-buffering"] == "no"
    assert stream.headers["x-request-id"]
    first = await stream.next()
    assert stream.retry is not None  # the retry hint comes before any event
    assert 1500 <= stream.retry <= 4500  # RETRY_MS (3000) spread by +-50% (next test)
    assert first.event == "sync.connected"
    assert set(first.data) == EVENT_KEYS
    assert first.data["id"] == first.id and first.data["type"] == "sync.connected"
    assert first.data["org_id"] == tenant.org_id and first.data["workspace_id"] == ws_id
    workspace = first.data["data"]["workspace"]
    assert_workspace(workspace)
    got = await client.get(f"{tenant.base}/{ws_id}", headers=tenant.headers())
    assert workspace == got.json()
    assert first.data["data"]["presence"] == {"members": []}
    assert first.data["data"]["resumed"] is False
    stream.close()


async def test_every_workspace_event_type(
    server: Server, app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    stream = await server.stream(tenant, ws_id)
    connected = await stream.next()

    await client.put(
        f"{tenant.base}/{ws_id}",
        json={"name": "Renamed", "tags": ["x", "y"]},
        headers=tenant.headers("member"),
    )
    updated = await stream.next()
    assert updated.event == "workspace.updated" and set(updated.data) == EVENT_KEYS
    assert updated.seq == connected.seq + 1
    assert updated.data["actor_id"] == tenant.users["member"]
    assert updated.data["data"]["changes"] == {"name": "Renamed", "tags": ["x", "y"]}
    assert updated.data["data"]["workspace"]["name"] == "Renamed"

    async with app.state.services.db.transaction() as conn:
        await set_bucket_status(conn, workspace_id=ws_id, status="failed", error="boom")
    bucket = await stream.next()
    assert bucket.event == "workspace.bucket_status_changed"
    assert bucket.data["data"]["bucket_status"] == "failed"
    assert bucket.seq == updated.seq + 1

    await client.delete(f"{tenant.base}/{ws_id}", headers=tenant.headers())
    deleted = await stream.next()
    assert deleted.event == "workspace.deleted" and deleted.seq == bucket.seq + 1
    assert deleted.data["data"] == {"workspace_id": ws_id}
    assert await stream.wait_end() == []  # then the stream ends
    again = await server.stream(tenant, ws_id)
    assert again.status == 404


async def test_no_event_for_a_change_that_changes_nothing(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant, name="Same")
    stream = await server.stream(tenant, ws_id)
    await stream.next()
    await rename(client, tenant, ws_id, "Same")  # no change: no event
    await rename(client, tenant, ws_id, "Other")
    event = await stream.next()
    assert event.event == "workspace.updated" and event.data["data"]["changes"] == {"name": "Other"}
    stream.close()


@pytest.mark.sync_settings(allow_query_token=True)
async def test_access_token_query_for_eventsource(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    path = f"{tenant.base}/{ws_id}/sync/stream?access_token={tenant.tokens['viewer']}"
    stream = await open_stream(server.port, path)
    assert stream.status == 200 and (await stream.next()).event == "sync.connected"
    stream.close()
    jwt_token = make_jwt(org_id=tenant.org_id, role="viewer")
    path = f"{tenant.base}/{ws_id}/sync/stream?access_token={jwt_token}"
    stream = await open_stream(server.port, path)
    assert stream.status == 200
    stream.close()


async def test_stream_errors(
    server: Server, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    base = f"{tenant.base}/{ws_id}/sync/stream"
    no_token = await client.get(base)
    assert_envelope(no_token, 401, "AUTHENTICATION_FAILED", {})
    bad = await client.get(base + "?access_token=mm_nope")
    assert_envelope(bad, 401, "AUTHENTICATION_FAILED", {})
    foreign = await client.get(base, headers=other_tenant.headers())
    assert_envelope(foreign, 403, "FORBIDDEN", {"required_permission": "sync:read"})
    # Another org's workspace through one's own org: 404, nothing revealed.
    theirs = await new_workspace(client, other_tenant)
    missing = await server.stream(tenant, theirs)
    assert missing.status == 404
    body = await read_error(missing)
    assert body["error"] == "RESOURCE_NOT_FOUND"
    assert body["details"] == {"resource_type": "workspace", "resource_id": theirs}
    for value in ("59", "7201", "x"):
        response = await client.get(f"{base}?timeout={value}", headers=tenant.headers())
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["query", "timeout"]


@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_openapi_documents_the_reference(app: FastAPI) -> None:
    schema = app.openapi()
    base = "/v1/orgs/{org_id}/workspaces/{workspace_id}/sync"
    stream = schema["paths"][f"{base}/stream"]["get"]
    assert stream["summary"] == "Stream Workspace Events"
    timeout = next(p for p in stream["parameters"] if p["name"] == "timeout")
    assert timeout["schema"]["minimum"] == 60 and timeout["schema"]["maximum"] == 7200
    assert timeout["schema"]["default"] == 3600
    assert timeout["description"] == "Stream timeout in seconds"
    summaries = {
        "join": "Announce Presence Join",
        "leave": "Announce Presence Leave",
        "viewing": "Announce Presence Viewing",
    }
    for action, summary in summaries.items():
        operation = schema["paths"][f"{base}/presence/{action}"]["post"]
        assert operation["summary"] == summary
        assert {"401", "403", "404", "422", "500"} <= set(operation["responses"])
    viewing = schema["paths"][f"{base}/presence/viewing"]["post"]["parameters"]
    described = {p["name"]: (p["required"], p.get("description")) for p in viewing}
    assert described["resource_type"] == (True, "Type of resource being viewed")
    assert described["resource_id"] == (True, "ID of resource being viewed")


async def test_a_snapshot_that_keeps_moving_holds_the_workspace_row(
    server: Server, client: httpx.AsyncClient, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A workspace busier than every lock-free attempt (SNAPSHOT_TRIES = 0 stands for that)
    # still opens, from a read that holds its row: same snapshot, resume exact.
    from mechamental.sync.fanout import session

    ws_id = await new_workspace(client, tenant, name="Busy")
    await rename(client, tenant, ws_id, "Busier")
    monkeypatch.setattr(session, "SNAPSHOT_TRIES", 0)
    stream = await server.stream(tenant, ws_id)
    first = await stream.next()
    assert first.event == "sync.connected"
    got = await client.get(f"{tenant.base}/{ws_id}", headers=tenant.headers())
    assert first.data["data"]["workspace"] == got.json()
    await rename(client, tenant, ws_id, "Live")
    live = await stream.next()
    assert live.event == "workspace.updated" and live.seq == first.seq + 1
    stream.close()
    resumed = await server.stream(tenant, ws_id, last_event_id=first.id)
    assert (await resumed.next()).data["data"]["resumed"] is True
    assert (await resumed.next()).id == live.id
    resumed.close()
