"""A workspace's channel: events in order, once each, with any gap read from the real event log.

The channel is fed frames read from the real log of a real workspace (changed through the
API, on SQLite and PostgreSQL), in whatever order a test chooses, and writes to a real
(queued) stream; gaps are read through the hub's reader of the same log.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import httpx
import pytest

from mechamental.sync.events import log as eventlog
from mechamental.sync.events.frames import Event, Frame, encode
from mechamental.sync.fanout.channel import Channel
from mechamental.sync.fanout.connection import Stream
from mechamental.sync.hub import SyncHub
from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.conftest import Server, new_workspace, rename

pytestmark = pytest.mark.parametrize("bus", ["embedded"], indirect=True)
IDS = re.compile(rb"^id: (\d+)-", re.MULTILINE)
Read = Callable[[str, int, int], Awaitable[list[Frame]]]


class Log:
    """The hub's reader of the event log, recording what the channel asked for."""

    def __init__(self, hub: SyncHub, org_id: str) -> None:
        self.hub = hub
        self.org_id = org_id
        self.reads: list[tuple[int, int]] = []

    async def __call__(self, workspace_id: str, after: int, upto: int) -> list[Frame]:
        self.reads.append((after, upto))
        return await self.hub.read_frames(self.org_id, workspace_id, after, upto)


async def workspace_with_events(
    server: Server, client: httpx.AsyncClient, tenant: Tenant, changes: int = 5
) -> tuple[str, list[Frame]]:
    """A workspace changed `changes` times; every frame of its log, in order."""
    ws_id = await new_workspace(client, tenant)
    for n in range(changes):
        await rename(client, tenant, ws_id, f"name-{n}")
    async with server.hub.db.reader() as conn:
        head = await eventlog.position(conn, org_id=tenant.org_id, workspace_id=ws_id)
    assert head is not None
    frames = await server.hub.read_frames(tenant.org_id, ws_id, 0, head)
    assert [f.seq for f in frames] == list(range(1, head + 1))
    return ws_id, frames


def attach(channel: Channel, closed: list[Stream]) -> Stream:
    """A queued stream on the channel, at its position."""
    stream = Stream(
        org_id="org",
        workspace_id=channel.workspace_id,
        user_id="user",
        limit=1000,
        lifetime=60,
        on_close=closed.append,
    )
    stream.use_queue()
    channel.add(stream)
    return stream


def received(stream: Stream) -> list[int]:
    """The seqs written to the stream so far."""
    return [int(seq) for seq in IDS.findall(b"".join(stream.pending))]


def new_channel(ws_id: str, read: Read) -> Channel:
    return Channel(workspace_id=ws_id, read=read, ring_size=16, max_window=0.0)


async def test_frames_in_order_are_written_once_without_reading_the_log(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id, frames = await workspace_with_events(server, client, tenant)
    log = Log(server.hub, tenant.org_id)
    channel = new_channel(ws_id, log)
    channel.start_at(0)
    stream = attach(channel, [])
    for frame in frames:
        channel.offer(frame)
    channel.flush()
    assert received(stream) == [f.seq for f in frames]
    assert channel.last_seq == frames[-1].seq
    assert [f.seq for f in channel.ring] == [f.seq for f in frames]
    assert log.reads == []


async def test_out_of_order_frames_are_written_in_order(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id, frames = await workspace_with_events(server, client, tenant)
    channel = new_channel(ws_id, Log(server.hub, tenant.org_id))
    channel.start_at(0)
    stream = attach(channel, [])
    shuffled = [frames[1], frames[0], frames[4], frames[2], frames[3], *frames[5:]]
    for frame in shuffled:
        channel.offer(frame)
    await asyncio.wait_for(channel.reach(frames[-1].seq), 10)
    channel.flush()
    assert received(stream) == [f.seq for f in frames]


async def test_duplicates_and_old_frames_are_dropped(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id, frames = await workspace_with_events(server, client, tenant)
    log = Log(server.hub, tenant.org_id)
    channel = new_channel(ws_id, log)
    channel.start_at(2)  # the client already has 1 and 2
    stream = attach(channel, [])
    for frame in [frames[0], frames[1], frames[2], frames[2], frames[1], *frames[3:], frames[3]]:
        channel.offer(frame)
    channel.flush()
    channel.offer(frames[-1])  # again, after it was written
    channel.flush()
    assert received(stream) == [f.seq for f in frames[2:]]
    assert log.reads == []


async def test_a_gap_is_read_from_the_event_log(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id, frames = await workspace_with_events(server, client, tenant)
    log = Log(server.hub, tenant.org_id)
    channel = new_channel(ws_id, log)
    channel.start_at(1)
    stream = attach(channel, [])
    channel.offer(frames[-1])  # 2 .. last-1 were never offered (lost on the bus)
    channel.offer(frames[3])  # arrives while the gap is being read: kept, not doubled
    await asyncio.wait_for(channel.reach(frames[-1].seq), 10)
    channel.flush()
    assert received(stream) == [f.seq for f in frames[1:]]
    assert log.reads and log.reads[0] == (1, frames[-1].seq)


async def test_catch_up_reads_what_the_bus_never_brought(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id, frames = await workspace_with_events(server, client, tenant)
    channel = new_channel(ws_id, Log(server.hub, tenant.org_id))
    channel.start_at(3)
    stream = attach(channel, [])
    channel.catch_up(frames[-1].seq)  # e.g. the bus reconnected: the log's head is known
    await asyncio.wait_for(channel.reach(frames[-1].seq), 10)
    channel.flush()
    assert received(stream) == [f.seq for f in frames[3:]]


async def test_frames_before_the_position_is_known_wait_for_it(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id, frames = await workspace_with_events(server, client, tenant)
    log = Log(server.hub, tenant.org_id)
    channel = new_channel(ws_id, log)
    for frame in frames[2:]:  # arrive while the first stream reads its snapshot
        channel.offer(frame)
    assert channel.last_seq is None and not channel.ring
    channel.start_at(3)  # the snapshot was at 3: 4 and later follow
    stream = attach(channel, [])
    channel.flush()
    assert [f.seq for f in channel.ring] == [f.seq for f in frames[3:]]
    assert received(stream) == []  # written before the stream was attached at the head
    assert log.reads == []


async def test_a_gap_the_log_cannot_fill_ends_the_streams(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id, frames = await workspace_with_events(server, client, tenant)
    channel = new_channel(ws_id, Log(server.hub, tenant.org_id))
    head = frames[-1].seq
    channel.start_at(head)
    closed: list[Stream] = []
    stream = attach(channel, closed)
    ghost = Event(tenant.org_id, ws_id, head + 3, "workspace.updated", None, datetime.now(UTC), {})
    channel.offer(encode(ghost))  # head+1 and head+2 are in no log

    async def ended() -> list[Stream]:
        return closed

    assert await eventually(ended, lambda c: c == [stream])
    assert stream.closed
    assert channel.last_seq == head + 3  # the channel goes on from there
