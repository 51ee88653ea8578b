"""Sync and presence families move when streams open and close, events fan out, clients lag."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Tenant
from tests.helpers import eventually
from tests.metrics.conftest import SCRAPE, Samples, scrape, value
from tests.sync.conftest import Server, new_workspace, presence, rename
from tests.sync.sse import open_stream

STREAMS = "mechamental_sync_streams"
OPENS = "mechamental_sync_stream_opens_total"
DELAY = "mechamental_sync_fanout_delay_seconds_count"
EVENTS = "mechamental_sync_events_total"
BIG = "x" * 1990


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much one sample changed."""
    return value(after, name, **labels) - value(before, name, **labels)


async def test_streams_open_close_and_events_fan_out(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """Both buses: on Redis, the commit time rides the bus to the channel."""
    ws_id = await new_workspace(client, tenant)
    before = await scrape(client)
    stream = await server.stream(tenant, ws_id)
    first = await stream.next()
    opened = await scrape(client)
    assert moved(before, opened, STREAMS) == 1
    assert moved(before, opened, OPENS, outcome="live") == 1

    await rename(client, tenant, ws_id, "renamed")
    await stream.until("workspace.updated")
    written = await eventually(lambda: scrape(client), lambda s: moved(opened, s, DELAY) >= 1)
    assert moved(opened, written, DELAY) == 1  # one event, one observation (one stream)
    assert moved(opened, written, EVENTS, type="workspace.updated") == 1

    stream.close()
    closed = await eventually(lambda: scrape(client), lambda s: moved(before, s, STREAMS) == 0)
    assert value(closed, STREAMS) == value(before, STREAMS)

    resumed = await server.stream(tenant, ws_id, last_event_id=first.id)
    await resumed.next()
    reset = await server.stream(tenant, ws_id, last_event_id="999999-nope")
    await reset.next()
    refused = await open_stream(
        server.port, f"{tenant.base}/{ws_id}/sync/stream", {"Authorization": "Bearer junk"}
    )
    assert refused.status == 401
    # A refusal is counted once its answer is out: maybe just after the client has it.
    after = await eventually(
        lambda: scrape(client), lambda s: moved(closed, s, OPENS, outcome="refused") >= 1
    )
    assert moved(closed, after, OPENS, outcome="resumed") == 1
    assert moved(closed, after, OPENS, outcome="reset") == 1
    assert moved(closed, after, OPENS, outcome="refused") == 1
    assert moved(closed, after, STREAMS) == 2
    resumed.close()
    reset.close()


@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
async def test_fanout_counts_per_event_not_per_stream(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    streams = [await server.stream(tenant, ws_id) for _ in range(5)]
    for stream in streams:
        await stream.next()
    before = await scrape(client)
    await rename(client, tenant, ws_id, "one")
    for stream in streams:
        await stream.until("workspace.updated")
    after = await eventually(lambda: scrape(client), lambda s: moved(before, s, DELAY) >= 1)
    assert moved(before, after, DELAY) == 1
    for stream in streams:
        stream.close()


@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.metrics_settings(stream_queue_limit=5)
async def test_a_slow_consumer_close_is_counted(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """As tests/sync/test_flow.py provokes it: a client that stops reading."""
    ws_id = await new_workspace(client, tenant)
    fast = await server.stream(tenant, ws_id)
    slow = await server.stream(tenant, ws_id, rcvbuf=4096)
    await slow.next()
    slow.writer.transport.pause_reading()
    await fast.next()
    before = await scrape(client)
    channel = server.hub.registry.channels[ws_id]
    sent = 0
    while channel.size == 2:
        assert sent < 2000, "the slow stream was never cut off"
        response = await client.put(
            f"{tenant.base}/{ws_id}", json={"description": f"{sent}{BIG}"}, headers=tenant.headers()
        )
        assert response.status_code == 200
        sent += 1
        await fast.next()
    after = await eventually(lambda: scrape(client), lambda s: moved(before, s, STREAMS) == -1)
    assert moved(before, after, "mechamental_sync_slow_consumer_closes_total") == 1
    slow.close()
    fast.close()


async def test_presence_calls_and_members(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    before = await scrape(client)
    await presence(client, tenant, ws_id, "join")
    await presence(client, tenant, ws_id, "viewing", resource_type="doc", resource_id="d")
    await presence(client, tenant, ws_id, "join", role="member")
    listed = await client.get(f"{tenant.base}/{ws_id}/sync/presence", headers=tenant.headers())
    assert listed.status_code == 200 and len(listed.json()["members"]) == 2
    joined = await scrape(client)
    calls = "mechamental_presence_calls_total"
    assert moved(before, joined, calls, kind="join") == 2
    assert moved(before, joined, calls, kind="viewing") == 1
    assert moved(before, joined, calls, kind="list") == 1
    assert moved(before, joined, "mechamental_presence_members") == 2
    await presence(client, tenant, ws_id, "leave")
    left = await scrape(client)
    assert moved(joined, left, calls, kind="leave") == 1
    assert moved(joined, left, "mechamental_presence_members") == -1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_redis_up(client: httpx.AsyncClient, bus: str) -> None:
    samples = await eventually(
        lambda: scrape(client),
        lambda s: bus == "embedded" or s.get(("mechamental_redis_up", ())) == 1,
    )
    if bus == "embedded":
        assert ("mechamental_redis_up", ()) not in samples  # no Redis: no such sample
    else:
        assert samples[("mechamental_redis_up", ())] == 1


@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
@pytest.mark.metrics_settings(sync={"publish": False})
async def test_outbox_pending(client: httpx.AsyncClient, tenant: Tenant) -> None:
    """Publishing off (a process that died between commit and publish): rows stay pending."""
    before = await scrape(client)
    ws_id = await new_workspace(client, tenant)
    await rename(client, tenant, ws_id, "again")
    after = await scrape(client)
    assert moved(before, after, "mechamental_sync_outbox_pending") == 2
    assert moved(before, after, EVENTS, type="workspace.created") == 1
    response = await client.get("/metrics", headers=SCRAPE)
    assert "mechamental_sync_outbox_pending" in response.text
