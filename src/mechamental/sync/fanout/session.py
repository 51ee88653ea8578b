"""One event stream from request to close: snapshot, resume or reset, replay, live, end.

`prepare` runs inside the endpoint (so a missing workspace is an ordinary 404): it reads
a consistent snapshot (workspace, presence and the log position they belong to) and
decides where the stream starts. `serve` runs as the response: it sends the headers,
takes the connection over (or falls back to ASGI sends), writes the opening frames,
replays what the client missed and attaches the stream to its channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import Receive, Scope, Send

from mechamental.errors import ResourceNotFound
from mechamental.sync.events import log as eventlog
from mechamental.sync.events.frames import Event, encode, parse_event_id, retry_hint
from mechamental.sync.fanout.channel import Channel
from mechamental.sync.fanout.connection import Stream
from mechamental.sync.fanout.protocol import EXTENSION, STREAM_WRITE_KEY
from mechamental.types import utcnow
from mechamental.workspaces import service as workspaces

if TYPE_CHECKING:
    from mechamental.sync.hub import SyncHub

log = logging.getLogger("mechamental.sync.fanout.connection")
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
REPLAY_WAIT_SECONDS = 15.0


@dataclass(slots=True)
class StreamPlan:
    """Where a new stream starts and what it says first."""

    channel: Channel
    org_id: str
    workspace_id: str
    user_id: str
    start: int  # the last position the client has: events after it follow
    opening: bytes  # retry hint, sync.connected and maybe sync.reset
    lifetime: float  # seconds until sync.timeout


def synthetic(org_id: str, workspace_id: str, seq: int, type_: str, data: dict[str, Any]) -> bytes:
    """A frame of an event that is not in the log (its id is the position it belongs to)."""
    event = Event(org_id, workspace_id, seq, type_, None, utcnow(), data)
    return encode(event).data


async def _snapshot(
    hub: SyncHub, org_id: str, workspace_id: str
) -> tuple[int, dict[str, Any], list[dict[str, Any]], int | None]:
    """Position, workspace, members and oldest retained event, all as of one position."""
    async with hub.db.reader() as conn:
        for _ in range(10):
            before = await eventlog.position(conn, org_id=org_id, workspace_id=workspace_id)
            if before is None:
                break
            row = await workspaces.get_workspace(conn, org_id=org_id, workspace_id=workspace_id)
            members = await hub.presence.members(conn, workspace_id=workspace_id)
            oldest = await eventlog.oldest_retained(conn, workspace_id=workspace_id)
            after = await eventlog.position(conn, org_id=org_id, workspace_id=workspace_id)
            if after == before:  # nothing committed in between: one consistent state
                return before, workspaces.to_api(row), members, oldest
    raise ResourceNotFound("workspace", workspace_id)


async def prepare(
    hub: SyncHub,
    *,
    org_id: str,
    workspace_id: str,
    user_id: str,
    last_event_id: str | None,
    lifetime: float,
) -> StreamPlan:
    """Read the snapshot and decide between a fresh start, a resume and a reset."""
    channel = hub.channel(workspace_id)
    channel.holds += 1  # frames arriving from now on are kept until the position is known
    try:
        head, workspace, members, oldest = await _snapshot(hub, org_id, workspace_id)
    except BaseException:
        hub.release(channel)
        raise
    channel.start_at(head)
    requested = parse_event_id(workspace_id, last_event_id)
    reason: str | None = None
    if last_event_id is not None:
        if requested is None or requested > head:
            reason = "unknown_event_id"
        elif requested < head and (oldest is None or requested + 1 < oldest):
            reason = "history_expired"
    resumed = last_event_id is not None and reason is None
    start = requested if resumed and requested is not None else head
    connected = {
        "workspace": workspace,
        "presence": {"members": members},
        "resumed": resumed,
        "heartbeat_seconds": hub.settings.heartbeat_seconds,
    }
    opening = retry_hint(hub.settings.retry_ms) + synthetic(
        org_id, workspace_id, start, "sync.connected", connected
    )
    if reason is not None:
        reset = {"reason": reason, "last_event_id": last_event_id}
        opening += synthetic(org_id, workspace_id, head, "sync.reset", reset)
    return StreamPlan(channel, org_id, workspace_id, user_id, start, opening, lifetime)


async def serve(hub: SyncHub, plan: StreamPlan, scope: Scope, receive: Receive, send: Send) -> None:
    """The response: headers, opening frames, replay, then live until the stream ends."""
    channel = plan.channel
    stream = Stream(
        org_id=plan.org_id,
        workspace_id=plan.workspace_id,
        user_id=plan.user_id,
        limit=hub.settings.stream_queue_limit,
        lifetime=plan.lifetime,
        on_close=hub.on_stream_closed,
    )
    try:
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        port = scope.get("extensions", {}).get(EXTENSION)
        transport = port.take_over(stream) if port is not None else None
        scope[STREAM_WRITE_KEY] = "asgi" if transport is None else "direct"
        if transport is not None:
            stream.use_transport(transport)
        else:
            stream.use_queue()
            hub.queued.add(stream)
        hub.presence.stream_opened(
            org_id=plan.org_id, workspace_id=plan.workspace_id, user_id=plan.user_id
        )
        stream.send(plan.opening)
        plan.opening = b""
        if hub.stopping:
            stream.finish()
        elif await _attach_safely(hub, channel, stream, plan.start):
            hub.deadlines.add(stream, asyncio.get_running_loop().time() + plan.lifetime)
    finally:
        hub.release(channel)
    if stream.transport is None:
        await _pump(stream, receive, send)


async def _attach_safely(hub: SyncHub, channel: Channel, stream: Stream, pos: int) -> bool:
    try:
        return await _attach(hub, channel, stream, pos)
    except Exception:
        log.exception("replay failed for %s; closing the stream", channel.workspace_id)
        stream.finish()
        return False


async def _attach(hub: SyncHub, channel: Channel, stream: Stream, pos: int) -> bool:
    """Replay events after `pos`, then join the channel's live fan-out."""
    while not stream.closed:
        last = channel.last_seq
        assert last is not None
        if pos > last:
            try:
                await asyncio.wait_for(channel.reach(pos), REPLAY_WAIT_SECONDS)
            except (TimeoutError, asyncio.CancelledError):
                stream.finish()
                return False
            continue
        if pos == last:
            if channel.deleted:  # the replay ended with workspace.deleted
                stream.finish()
                return False
            channel.add(stream)
            return True
        ring = channel.ring
        if ring and ring[0].seq <= pos + 1:
            stream.send(b"".join(f.data for f in ring if f.seq > pos))
            pos = ring[-1].seq
            continue
        frames = await hub.read_frames(channel.workspace_id, pos, last)
        if not frames or frames[0].seq != pos + 1:  # pruned meanwhile: the client resumes
            stream.finish()
            return False
        stream.send(b"".join(f.data for f in frames))
        pos = frames[-1].seq
        if stream.paused:
            await stream.wait_writable()
    return False


def expire(stream: Stream) -> None:
    """The stream's time is up: say so (with the position to resume from) and close."""
    channel = stream.channel
    if channel is None or channel.last_seq is None:
        stream.finish()
        return
    channel.flush()  # the stream gets everything up to the position it resumes from
    data = {"timeout_seconds": stream.lifetime, "reconnect": True}
    frame = synthetic(stream.org_id, stream.workspace_id, channel.last_seq, "sync.timeout", data)
    stream.finish(frame)


def closed(hub: SyncHub, stream: Stream) -> None:
    """A stream ended (any way): detach it and tell presence."""
    channel = stream.channel
    if channel is not None:
        channel.remove(stream)
        stream.channel = None
    hub.queued.discard(stream)
    hub.presence.stream_closed(workspace_id=stream.workspace_id, user_id=stream.user_id)


async def _pump(stream: Stream, receive: Receive, send: Send) -> None:
    """Fallback without the transport extension: ASGI sends from the stream's queue."""
    watcher = asyncio.get_running_loop().create_task(_watch_disconnect(stream, receive))
    try:
        while True:
            if stream.pending:
                data = stream.take_pending()
                await send({"type": "http.response.body", "body": data, "more_body": True})
                continue
            if stream.closed:
                break
            assert stream.writable is not None
            stream.writable.clear()
            await stream.writable.wait()
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        stream.connection_lost()


async def _watch_disconnect(stream: Stream, receive: Receive) -> None:
    while not stream.closed:
        message = await receive()
        if message["type"] == "http.disconnect":
            stream.connection_lost()
            return
