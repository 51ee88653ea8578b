"""Resuming with Last-Event-ID: missed events once and in order, or sync.reset if gone."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from mechamental.retention import retention_of
from mechamental.sync.events import log as eventlog
from mechamental.sync.hub import SyncHub
from mechamental.webhooks.deliveries import dispatch
from tests.conftest import Tenant
from tests.sync.conftest import Server, new_workspace, rename
from tests.sync.sse import open_stream, read_error


async def retained(hub: SyncHub, org_id: str, workspace_id: str) -> list[int]:
    """The sequence numbers the log still holds for a workspace."""
    async with hub.db.reader() as conn:
        events = await eventlog.read_events(conn, org_id=org_id, workspace_id=workspace_id, after=0)
    return [e.seq for e in events]


async def test_resume_after_a_dropped_connection(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    first = await server.stream(tenant, ws_id)
    await first.next()
    for i in range(3):
        await rename(client, tenant, ws_id, f"before-{i}")
    seen = await first.take(3)
    first.close()  # dropped: the client remembers the last id it saw
    for i in range(4):
        await rename(client, tenant, ws_id, f"missed-{i}")

    second = await server.stream(tenant, ws_id, last_event_id=seen[-1].id)
    connected = await second.next()
    assert connected.event == "sync.connected" and connected.data["data"]["resumed"] is True
    assert connected.id == seen[-1].id  # its id does not skip the missed events
    missed = await second.take(4)
    assert [e.data["data"]["changes"]["name"] for e in missed] == [f"missed-{i}" for i in range(4)]
    assert [e.seq for e in missed] == list(range(seen[-1].seq + 1, seen[-1].seq + 5))
    await rename(client, tenant, ws_id, "live")
    live = await second.next()
    assert live.seq == missed[-1].seq + 1 and live.data["data"]["changes"] == {"name": "live"}
    second.close()


@pytest.mark.sync_tuning(ring_size=2)
async def test_long_gap_replays_from_the_log(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """More missed events than the in-memory ring holds, with a live stream keeping it warm."""
    ws_id = await new_workspace(client, tenant)
    watcher = await server.stream(tenant, ws_id)
    start = (await watcher.next()).id
    for i in range(12):
        await rename(client, tenant, ws_id, f"n{i}")
    resumed = await server.stream(tenant, ws_id, last_event_id=start, query="")
    await resumed.next()
    replay = await resumed.take(12)
    assert [e.data["data"]["changes"]["name"] for e in replay] == [f"n{i}" for i in range(12)]
    await rename(client, tenant, ws_id, "after")
    assert (await resumed.next()).data["data"]["changes"] == {"name": "after"}
    assert [e.seq for e in await watcher.take(13)] == [e.seq for e in replay] + [replay[-1].seq + 1]
    watcher.close()
    resumed.close()


async def test_resume_with_query_parameter(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    stream = await server.stream(tenant, ws_id)
    mark = (await stream.next()).id
    stream.close()
    await rename(client, tenant, ws_id, "q")
    path = f"{tenant.base}/{ws_id}/sync/stream?last_event_id={mark}"
    again = await open_stream(server.port, path, tenant.headers())
    assert (await again.next()).data["data"]["resumed"] is True
    assert (await again.next()).data["data"]["changes"] == {"name": "q"}
    again.close()


@pytest.mark.sync_settings(event_retention_count=3, event_retention_seconds=60)
async def test_reset_when_the_gap_is_no_longer_kept(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    stream = await server.stream(tenant, ws_id)
    old = (await stream.next()).id
    stream.close()
    for i in range(8):
        await rename(client, tenant, ws_id, f"r{i}")
    hub = server.hub
    await hub.publisher.publish_queued()  # only published rows are ever pruned
    async with hub.db.transaction() as conn:  # nor rows not yet matched with webhooks
        # The session's database holds other tests' events too: match them all.
        while (await dispatch(conn, now=hub.clock.utcnow(), limit=500))[0]:
            pass
    retention = retention_of(server.app.state.services)
    await retention.run_once()
    assert await retained(hub, tenant.org_id, ws_id) == list(range(1, 10))  # young: all kept
    hub.clock.advance(61)
    await retention.run_once()
    assert await retained(hub, tenant.org_id, ws_id) == [
        7,
        8,
        9,
    ]  # old, and beyond the last three: gone

    again = await server.stream(tenant, ws_id, last_event_id=old)
    connected = await again.next()
    reset = await again.next()
    assert connected.event == "sync.connected" and connected.data["data"]["resumed"] is False
    assert connected.data["data"]["workspace"]["name"] == "r7"  # the state to redraw from
    assert reset.event == "sync.reset" and reset.data["data"]["reason"] == "history_expired"
    assert reset.id == connected.id
    await rename(client, tenant, ws_id, "after-reset")
    live = await again.next()
    assert live.seq == reset.seq + 1
    again.close()

    # Within retention a resume still works.
    previous = f"{live.seq - 1}-{live.id.split('-')[1]}"
    recent = await server.stream(tenant, ws_id, last_event_id=previous)
    await recent.next()
    assert (await recent.next()).id == live.id
    recent.close()


@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
async def test_reset_for_ids_that_are_not_this_workspaces(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    other = await new_workspace(client, tenant)
    probe = await server.stream(tenant, other)
    foreign = (await probe.next()).id
    probe.close()
    stream = await server.stream(tenant, ws_id)
    head = await stream.next()
    stream.close()
    tag = head.id.split("-")[1]
    cases = {
        foreign: "unknown_event_id",  # another workspace's id
        f"{head.seq + 50}-{tag}": "unknown_event_id",  # ahead of the log (a restored store)
        "garbage": "unknown_event_id",
        "12": "unknown_event_id",
    }
    for given, reason in cases.items():
        again = await server.stream(tenant, ws_id, last_event_id=given)
        connected, reset = await again.take(2)
        assert connected.event == "sync.connected" and connected.id == head.id
        assert reset.event == "sync.reset" and reset.data["data"]["reason"] == reason, given
        again.close()


async def test_resume_after_deletion_delivers_up_to_workspace_deleted(
    server: Server, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    """A client cut off before its workspace was deleted still gets what it missed."""
    ws_id = await new_workspace(client, tenant)
    first = await server.stream(tenant, ws_id)
    await first.next()
    await rename(client, tenant, ws_id, "seen")
    seen = await first.next()
    first.close()
    for name in ("missed-1", "missed-2"):
        await rename(client, tenant, ws_id, name)
    deleted = await client.delete(f"{tenant.base}/{ws_id}", headers=tenant.headers())
    assert deleted.status_code == 200

    resumed = await server.stream(tenant, ws_id, last_event_id=seen.id)
    assert resumed.status == 200
    missed = await resumed.wait_end()  # no sync.connected: there is no workspace to show
    assert [e.event for e in missed] == ["workspace.updated"] * 2 + ["workspace.deleted"]
    assert [e.seq for e in missed] == [seen.seq + 1, seen.seq + 2, seen.seq + 3]
    assert [e.data["data"]["changes"]["name"] for e in missed[:2]] == ["missed-1", "missed-2"]

    # Once the client has workspace.deleted, or never had a position, the workspace is gone.
    for last_event_id in (missed[-1].id, None, f"{seen.seq}-elsewhere"):
        gone = await server.stream(tenant, ws_id, last_event_id=last_event_id)
        assert gone.status == 404, last_event_id
        assert (await read_error(gone))["error"] == "RESOURCE_NOT_FOUND"
    # Another org cannot read the deleted workspace's log.
    foreign = await server.stream(other_tenant, ws_id, last_event_id=seen.id)
    assert foreign.status == 404
    foreign.close()


async def test_streams_resuming_together_while_writes_go_on(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """A reconnect storm on one workspace: streams opening together share one snapshot read
    (`StreamSessions._shared_snapshot`); each still resumes exactly where it was (one that
    already saw an event newer than a shared read is not reset), nothing missed or twice."""
    ws_id = await new_workspace(client, tenant)
    watcher = await server.stream(tenant, ws_id)
    await watcher.next()
    seen: list[str] = []
    for i in range(20):
        await rename(client, tenant, ws_id, f"n{i}")
        seen.append((await watcher.next()).id or "")
    stop = asyncio.Event()

    async def keep_writing() -> int:
        n = 0
        while not stop.is_set():
            await rename(client, tenant, ws_id, f"w{n}")
            n += 1
            await asyncio.sleep(0.01)  # the writes go on beside the storm, not instead of it
        return n

    async def resume(last: str | None) -> tuple[str | None, list[int], bool]:
        stream = await server.stream(tenant, ws_id, last_event_id=last)
        connected = await stream.next()
        events = await stream.take(3)
        stream.close()
        return connected.id, [e.seq for e in events], bool(connected.data["data"]["resumed"])

    writer = asyncio.create_task(keep_writing())
    try:
        # The newest id too: by the time its stream reads, a shared read may be older.
        lasts = [seen[i % len(seen)] for i in range(0, 60, 3)] + [None] * 5 + [seen[-1]] * 5
        results = await asyncio.gather(*(resume(last) for last in lasts))
    finally:
        stop.set()
        written = await writer
    assert written > 0
    for last, (connected_id, seqs, resumed) in zip(lasts, results, strict=True):
        assert resumed is (last is not None), last
        start = int((last or connected_id or "0").split("-")[0])
        assert seqs == [start + 1, start + 2, start + 3], (last, connected_id, seqs)
    watcher.close()
