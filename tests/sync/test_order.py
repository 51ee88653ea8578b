"""One total order per workspace: concurrent writers, presence and workspace events mixed."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from mechamental.sync.events import log as eventlog
from tests.conftest import Tenant
from tests.sync.conftest import Server, new_workspace, presence


async def test_order_under_concurrent_writers(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    streams = [await server.stream(tenant, ws_id) for _ in range(3)]
    start = [(await s.next()).seq for s in streams].pop()

    async def writer(n: int) -> None:
        for i in range(5):
            response = await client.put(
                f"{tenant.base}/{ws_id}",
                json={"description": f"w{n}-{i}"},
                headers=tenant.headers(),
            )
            assert response.status_code == 200, response.text

    async def visitor(role: str) -> None:
        for resource in ("a", "b", "c"):
            await presence(
                client, tenant, ws_id, "viewing", role, resource_type="doc", resource_id=resource
            )
        await presence(client, tenant, ws_id, "leave", role)

    await asyncio.gather(*(writer(n) for n in range(4)), visitor("member"), visitor("viewer"))
    hub = server.hub
    async with hub.db.reader() as conn:
        logged = await eventlog.read_events(
            conn, org_id=tenant.org_id, workspace_id=ws_id, after=start
        )
    assert len(logged) == 20 + 2 * 5  # 20 updates; per visitor joined, 3 viewing, left
    assert [e.seq for e in logged] == list(range(start + 1, start + 1 + len(logged)))
    for stream in streams:
        received = await stream.take(len(logged))
        assert [e.seq for e in received] == [e.seq for e in logged]
        assert [e.event for e in received] == [e.type for e in logged]
        stream.close()
    # Each visitor's own events are in the order they happened.
    for role in ("member", "viewer"):
        mine = [e for e in logged if e.actor_id == tenant.users[role]]
        kinds = [e.type for e in mine]
        assert kinds == ["presence.joined"] + ["presence.viewing"] * 3 + ["presence.left"]
        assert [e.data["viewing"]["resource_id"] for e in mine[1:4]] == ["a", "b", "c"]


@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
async def test_a_rolled_back_change_emits_nothing(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    stream = await server.stream(tenant, ws_id)
    head = await stream.next()
    from mechamental.sync.events.frames import EventType
    from mechamental.sync.events.outbox import record_event
    from mechamental.sync.events.seq import take_seqs

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with server.hub.db.transaction() as conn:
            (seq,) = await take_seqs(conn, workspace_id=ws_id)
            await record_event(
                conn,
                org_id=tenant.org_id,
                workspace_id=ws_id,
                seq=seq,
                type=EventType.WORKSPACE_UPDATED,
                actor_id="x",
                data={},
            )
            raise Boom()
    await client.put(f"{tenant.base}/{ws_id}", json={"name": "kept"}, headers=tenant.headers())
    event = await stream.next()
    assert event.seq == head.seq + 1 and event.data["data"]["changes"] == {"name": "kept"}
    stream.close()
