"""Presence: transitions, quiet repeats, multi-tab, TTL and grace on a controllable clock."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant
from tests.helpers import assert_envelope, eventually
from tests.sync.conftest import ON_CLUSTER, Server, drop_prefix, new_workspace, presence, rename


async def members(client: httpx.AsyncClient, tenant: Tenant, ws_id: str, **params: str) -> list:
    """GET …/sync/presence."""
    response = await client.get(
        f"{tenant.base}/{ws_id}/sync/presence", params=params, headers=tenant.headers("viewer")
    )
    assert response.status_code == 200, response.text
    found: list = response.json()["members"]
    return found


@ON_CLUSTER
async def test_join_viewing_leave_and_quiet_repeats(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    stream = await server.stream(tenant, ws_id)
    await stream.next()
    member = tenant.users["member"]

    await presence(client, tenant, ws_id, "leave", "member")  # not present: quiet 200
    await presence(client, tenant, ws_id, "join", "member")
    await presence(client, tenant, ws_id, "join", "member")  # repeat: nothing
    await presence(client, tenant, ws_id, "viewing", "member", resource_type="doc", resource_id="1")
    await presence(client, tenant, ws_id, "viewing", "member", resource_type="doc", resource_id="1")
    await presence(client, tenant, ws_id, "join", "member")  # keeps the viewed resource
    await presence(client, tenant, ws_id, "viewing", "member", resource_type="doc", resource_id="2")
    await presence(client, tenant, ws_id, "leave", "member")
    await presence(client, tenant, ws_id, "leave", "member")  # repeat: nothing
    # Viewing implies join.
    await presence(
        client, tenant, ws_id, "viewing", "viewer", resource_type="board", resource_id="b"
    )

    events = await stream.take(6)
    assert [(e.event, e.data["actor_id"]) for e in events] == [
        ("presence.joined", member),
        ("presence.viewing", member),
        ("presence.viewing", member),
        ("presence.left", member),
        ("presence.joined", tenant.users["viewer"]),
        ("presence.viewing", tenant.users["viewer"]),
    ]
    assert events[0].data["data"]["user_id"] == member and events[0].data["data"]["since"]
    assert events[1].data["data"]["viewing"] == {"resource_type": "doc", "resource_id": "1"}
    assert events[1].data["data"]["previous"] is None
    assert events[2].data["data"]["previous"] == {"resource_type": "doc", "resource_id": "1"}
    assert events[3].data["data"]["reason"] == "leave"
    assert [e.seq for e in events] == list(range(events[0].seq, events[0].seq + 6))
    # Nothing else was emitted: the next event is the next change.
    await presence(client, tenant, ws_id, "leave", "viewer")
    assert (await stream.next()).event == "presence.left"

    await presence(client, tenant, ws_id, "viewing", "owner", resource_type="doc", resource_id="9")
    listed = await members(client, tenant, ws_id)
    assert [(m["user_id"], m["viewing"]) for m in listed] == [
        (tenant.users["owner"], {"resource_type": "doc", "resource_id": "9"})
    ]
    assert listed[0]["connections"] == 1 and listed[0]["since"]
    assert await members(client, tenant, ws_id, resource_id="9") == listed
    assert await members(client, tenant, ws_id, resource_type="board") == []
    stream.close()


async def test_connected_snapshot_has_presence(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    await presence(client, tenant, ws_id, "viewing", "member", resource_type="doc", resource_id="1")
    stream = await server.stream(tenant, ws_id, "viewer")
    snapshot = (await stream.next()).data["data"]["presence"]["members"]
    assert [(m["user_id"], m["viewing"]["resource_id"], m["connections"]) for m in snapshot] == [
        (tenant.users["member"], "1", 0)
    ]
    stream.close()


@ON_CLUSTER
async def test_multi_tab_is_one_member(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    watcher = await server.stream(tenant, ws_id, "owner")
    await watcher.next()
    hub = server.hub
    user = tenant.users["member"]
    tabs = [await server.stream(tenant, ws_id, "member") for _ in range(3)]
    for tab in tabs:
        await tab.next()
        await presence(client, tenant, ws_id, "join", "member")
    listed = await eventually(
        lambda: members(client, tenant, ws_id), lambda m: m and m[0]["connections"] == 3
    )
    assert [m["user_id"] for m in listed] == [user]

    for tab in tabs[:2]:
        tab.close()
    await eventually(lambda: _count(hub, ws_id, user), lambda n: n == 1)
    hub.clock.advance(hub.presence.grace + hub.presence.ttl + 1)
    await hub.presence.sweep()
    assert [m["connections"] for m in await members(client, tenant, ws_id)] == [1]  # still here
    tabs[2].close()
    await eventually(lambda: _count(hub, ws_id, user), lambda n: n == 0)
    hub.clock.advance(hub.presence.grace + 1)
    await hub.presence.sweep()
    events = await watcher.take(2)
    assert [e.event for e in events] == ["presence.joined", "presence.left"]  # once each
    assert events[1].data["data"]["reason"] == "expired"
    assert await members(client, tenant, ws_id) == []
    watcher.close()


async def _count(hub: object, ws_id: str, user: str) -> int:
    from mechamental.sync.hub import SyncHub

    assert isinstance(hub, SyncHub)
    await hub.presence.flush()
    return hub.presence.open_streams(ws_id, user)


@ON_CLUSTER
async def test_ttl_expiry_and_refresh(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    stream = await server.stream(tenant, ws_id, "owner")
    await stream.next()
    hub = server.hub
    ttl = hub.presence.ttl
    await presence(client, tenant, ws_id, "join", "viewer")  # no stream: the TTL holds it
    hub.clock.advance(ttl - 5)
    await hub.presence.sweep()
    await presence(client, tenant, ws_id, "join", "viewer")  # refresh
    hub.clock.advance(ttl - 5)
    await hub.presence.sweep()
    assert len(await members(client, tenant, ws_id)) == 1
    hub.clock.advance(10)
    await hub.presence.sweep()
    joined, left = await stream.take(2)
    assert joined.event == "presence.joined" and left.event == "presence.left"
    assert left.data["data"] == {"user_id": tenant.users["viewer"], "reason": "expired"}
    assert await members(client, tenant, ws_id) == []
    stream.close()


@ON_CLUSTER
async def test_dropped_stream_leaves_after_grace_unless_back(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    watcher = await server.stream(tenant, ws_id, "owner")
    await watcher.next()
    hub = server.hub
    user = tenant.users["member"]
    tab = await server.stream(tenant, ws_id, "member")
    await tab.next()
    await presence(client, tenant, ws_id, "join", "member")
    assert (await watcher.next()).event == "presence.joined"

    hub.clock.advance(hub.presence.ttl * 3)  # an open stream outlives the TTL
    await hub.presence.sweep()
    tab.close()  # dropped without leave
    await eventually(lambda: _count(hub, ws_id, user), lambda n: n == 0)
    hub.clock.advance(hub.presence.grace / 2)
    await hub.presence.sweep()
    back = await server.stream(tenant, ws_id, "member")  # reconnects within the grace
    await back.next()
    await eventually(lambda: _count(hub, ws_id, user), lambda n: n == 1)
    hub.clock.advance(hub.presence.grace * 2)
    await hub.presence.sweep()
    assert len(await members(client, tenant, ws_id)) == 1
    back.close()
    await eventually(lambda: _count(hub, ws_id, user), lambda n: n == 0)
    hub.clock.advance(hub.presence.grace - 1)
    await hub.presence.sweep()
    assert len(await members(client, tenant, ws_id)) == 1
    hub.clock.advance(2)
    await hub.presence.sweep()
    left = await watcher.next()
    assert left.event == "presence.left" and left.data["actor_id"] == user
    watcher.close()


async def test_presence_errors(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, server: Server
) -> None:
    ws_id = await new_workspace(client, tenant)
    base = f"{tenant.base}/{ws_id}/sync/presence"
    for action in ("join", "leave", "viewing?resource_type=a&resource_id=b"):
        assert_envelope(await client.post(f"{base}/{action}"), 401, "AUTHENTICATION_FAILED", {})
        # The stream's ?access_token= is not accepted here.
        token_only = await client.post(
            f"{base}/{action}", params={"access_token": tenant.tokens["owner"]}
        )
        assert token_only.status_code == 401
        foreign = await client.post(f"{base}/{action}", headers=other_tenant.headers())
        assert_envelope(foreign, 403, "FORBIDDEN", {"required_permission": "presence:write"})
        theirs = await new_workspace(client, other_tenant)
        missing = await client.post(
            f"{tenant.base}/{theirs}/sync/presence/{action}", headers=tenant.headers()
        )
        details = {"resource_type": "workspace", "resource_id": theirs}
        assert_envelope(missing, 404, "RESOURCE_NOT_FOUND", details)
    for params, loc in (
        ({"resource_id": "b"}, "resource_type"),
        ({"resource_type": "a"}, "resource_id"),
        ({"resource_type": "", "resource_id": "b"}, "resource_type"),
    ):
        response = await client.post(f"{base}/viewing", params=params, headers=tenant.headers())
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", loc]
    listing = await client.get(base, headers=other_tenant.headers())
    assert_envelope(listing, 403, "FORBIDDEN", {"required_permission": "sync:read"})


@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
async def test_announced_members_survive_a_restart_for_the_grace(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """The next start remembers who was announced: they leave after the grace unless back."""
    ws_id = await new_workspace(client, tenant)
    await presence(client, tenant, ws_id, "join", "member")
    hub = server.hub
    from mechamental.sync.presence.memory_store import MemoryPresenceStore

    hub.presence.store = MemoryPresenceStore()  # the state a crashed process loses
    await hub.presence.seed()
    watcher = await server.stream(tenant, ws_id, "owner")
    assert len((await watcher.next()).data["data"]["presence"]["members"]) == 1
    hub.clock.advance(hub.presence.grace + 1)
    await hub.presence.sweep()
    left = await watcher.next()
    assert left.event == "presence.left" and left.data["data"]["reason"] == "expired"
    watcher.close()


@pytest.mark.parametrize("bus", ["redis", "cluster"], indirect=True)
async def test_a_reset_store_is_restored_without_presence_events(
    server: Server,
    client: httpx.AsyncClient,
    tenant: Tenant,
    bus: str,
    request: pytest.FixtureRequest,
) -> None:
    """Redis back empty: our streams are re-registered, the ledger seeded; no churn for them."""
    ws_id = await new_workspace(client, tenant)
    watcher = await server.stream(tenant, ws_id, "owner")
    await watcher.next()
    hub = server.hub
    member, viewer = tenant.users["member"], tenant.users["viewer"]
    tab = await server.stream(tenant, ws_id, "member")
    await tab.next()
    await presence(client, tenant, ws_id, "viewing", "member", resource_type="doc", resource_id="1")
    await presence(client, tenant, ws_id, "join", "viewer")  # no stream: the TTL holds them
    assert [e.event for e in await watcher.take(3)] == [
        "presence.joined",
        "presence.viewing",
        "presence.joined",
    ]
    await eventually(lambda: _count(hub, ws_id, member), lambda n: n == 1)

    async def listed() -> list[tuple[str, int, object]]:
        found = await members(client, tenant, ws_id)
        return [(m["user_id"], m["connections"], m["viewing"]) for m in found]

    doc = {"resource_type": "doc", "resource_id": "1"}
    assert await eventually(listed, lambda m: m == [(member, 1, doc), (viewer, 0, None)])

    prefix = hub.settings.redis_prefix
    if bus == "cluster":  # as after a restart of every master
        request.getfixturevalue("redis_cluster").drop_prefix(prefix)
    else:
        drop_prefix(request.getfixturevalue("redis_url"), prefix)  # as after a Redis restart
    await hub.presence.sweep()  # notices the reset: our stream first, then the ledger
    assert await listed() == [(member, 1, doc), (viewer, 0, None)]
    # Seeded members are held for a lease plus the grace: every live process re-registers
    # its streams within its lease. The member's stream holds them; the viewer expires.
    hub.clock.advance(hub.presence.lease + hub.presence.grace + 1)
    await hub.presence.sweep()
    left = await watcher.next()
    assert left.event == "presence.left" and left.data["actor_id"] == viewer
    assert left.data["data"]["reason"] == "expired"
    await rename(client, tenant, ws_id, "after")
    assert (await watcher.next()).event == "workspace.updated"  # nothing for the member
    assert await listed() == [(member, 1, doc)]
    tab.close()
    watcher.close()
