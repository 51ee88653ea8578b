"""One event stream from request to close: snapshot, resume or reset, replay, live, end.

`prepare` runs inside the endpoint (so a missing workspace is an ordinary 404): it reads
a consistent snapshot (workspace, presence and the log position they belong to) and
decides where the stream starts. `serve` runs as the response: it sends the headers,
takes the connection over (or falls back to ASGI sends), writes the opening frames,
replays what the client missed and hands the stream to the registry's live fan-out.
What a session needs from the rest of the process (the database, the presence snapshot,
the registry) it is given explicitly by the hub, as a `StreamSessions`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.types import Receive, Scope, Send

from mechamental.db import Conn, Database
from mechamental.errors import ResourceNotFound
from mechamental.sync.events import log as eventlog
from mechamental.sync.events.frames import EventType, parse_event_id, retry_hint
from mechamental.sync.fanout.channel import Channel
from mechamental.sync.fanout.connection import NO_CREDENTIAL, Credential, Stream
from mechamental.sync.fanout.protocol import EXTENSION, STREAM_WRITE_KEY
from mechamental.sync.fanout.registry import ReadOrgFrames, StreamRegistry, synthetic

log = logging.getLogger("mechamental.sync.fanout.session")
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
REPLAY_WAIT_SECONDS = 15.0
SNAPSHOT_TRIES = 5  # lock-free attempts before the snapshot holds the workspace row
# Position, workspace, members as listed, oldest retained event: what a stream opens with.
Snapshot = tuple[int, dict[str, Any], list[dict[str, Any]], int | None]


class MemberSnapshot(Protocol):
    """The presence part of `sync.connected` (the presence service)."""

    def announced(self, conn: Conn, *, org_id: str, workspace_id: str) -> Awaitable[list[Any]]:
        """Who is announced present, read on `conn` (in the snapshot's consistent read)."""
        ...

    def describe(self, workspace_id: str, announced: list[Any]) -> Awaitable[list[dict[str, Any]]]:
        """The announced members as listed, completed from the presence store (no connection
        held: the store may be slow to answer while it restarts)."""
        ...


class ReadWorkspace(Protocol):
    """The workspace as the API shows it, or 404 (given by the app: sync does not import
    `workspaces`, which records events through `sync.events`)."""

    def __call__(self, conn: Conn, *, org_id: str, workspace_id: str) -> Awaitable[dict[str, Any]]:
        """Read it."""
        ...


@dataclass(slots=True)
class StreamPlan:
    """Where a new stream starts and what it says first."""

    channel: Channel  # held (see `StreamRegistry.hold`) until `serve` releases it
    org_id: str
    workspace_id: str
    user_id: str
    start: int  # the last position the client has: events after it follow
    opening: bytes  # retry hint, sync.connected and maybe sync.reset
    lifetime: float  # seconds until sync.timeout
    credential: Credential = NO_CREDENTIAL  # the stream ends when it does
    final: bool = False  # a deleted workspace: the opening holds the rest of its log, then end
    outcome: str = "live"  # for the metric of opens: live (fresh), resumed or reset


@dataclass(frozen=True, slots=True)
class StreamSessions:
    """Opens and serves event streams with what the hub gives it."""

    db: Database
    registry: StreamRegistry
    read_frames: ReadOrgFrames
    members: MemberSnapshot
    read_workspace: ReadWorkspace
    heartbeat_seconds: float
    retry_ms: int
    _reading: dict[tuple[str, str], asyncio.Future[Snapshot]] = field(default_factory=dict)

    def _retry_ms(self) -> int:
        """This stream's reconnection delay: `retry_ms` spread by +-50%. When a process dies,
        its streams reconnect after their `retry:` hint; with one value for all, they arrived
        within 50 ms and queued for the database together (chaos run: 221 of 500 waited past
        the pool wait and got a 503, which ends an EventSource)."""
        return round(self.retry_ms * random.uniform(0.5, 1.5))

    async def _shared_snapshot(self, org_id: str, workspace_id: str) -> Snapshot:
        """The snapshot, read once for all the streams of a workspace that open meanwhile: in
        a reconnect storm the streams of one workspace arrive together, and each reading it
        on its own made the database the queue. A snapshot read after another stream's hold
        is as good for this one (its channel keeps the frames from there on)."""
        key = (org_id, workspace_id)
        reading = self._reading.get(key)
        if reading is None:
            reading = asyncio.ensure_future(self._own_snapshot(org_id, workspace_id))
            self._reading[key] = reading
            reading.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(reading)

    def _settled(self, key: tuple[str, str], done: asyncio.Future[Snapshot]) -> None:
        self._reading.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved: the streams that waited for it have raised it

    async def _own_snapshot(self, org_id: str, workspace_id: str) -> Snapshot:
        head, workspace, announced, oldest = await self._snapshot(org_id, workspace_id)
        return head, workspace, await self.members.describe(workspace_id, announced), oldest

    async def _snapshot(
        self, org_id: str, workspace_id: str
    ) -> tuple[int, dict[str, Any], list[Any], int | None]:
        """Position, workspace, announced members and oldest retained event, as of one position.

        Only the database is read here: a connection is held throughout.
        """
        async with self.db.reader() as conn:
            for _ in range(SNAPSHOT_TRIES):
                before = await eventlog.position(conn, org_id=org_id, workspace_id=workspace_id)
                if before is None:
                    raise ResourceNotFound("workspace", workspace_id)
                state = await self._read_state(conn, org_id, workspace_id)
                after = await eventlog.position(conn, org_id=org_id, workspace_id=workspace_id)
                if after == before:  # nothing committed in between: one consistent state
                    return (before, *state)
        # A workspace this busy could keep moving under lock-free reads (seen in the chaos
        # run during a reconnect storm): hold its row for one read, which writers wait for.
        async with self.db.transaction() as conn:
            head = await eventlog.hold_position(conn, org_id=org_id, workspace_id=workspace_id)
            if head is None:
                raise ResourceNotFound("workspace", workspace_id)
            return (head, *await self._read_state(conn, org_id, workspace_id))

    async def _read_state(
        self, conn: Conn, org_id: str, workspace_id: str
    ) -> tuple[dict[str, Any], list[Any], int | None]:
        workspace = await self.read_workspace(conn, org_id=org_id, workspace_id=workspace_id)
        members = await self.members.announced(conn, org_id=org_id, workspace_id=workspace_id)
        oldest = await eventlog.oldest_retained(conn, org_id=org_id, workspace_id=workspace_id)
        return workspace, members, oldest

    async def prepare(
        self,
        *,
        org_id: str,
        workspace_id: str,
        user_id: str,
        last_event_id: str | None,
        lifetime: float,
        credential: Credential = NO_CREDENTIAL,
    ) -> StreamPlan:
        """Read the snapshot and decide between a fresh start, a resume and a reset."""
        channel = self.registry.hold(workspace_id, org_id=org_id)
        try:
            # Frames from other processes reach us once the bus listens to the workspace:
            # reading the position after that, the log and the frames leave no gap.
            await self.registry.ready(channel)
            head, workspace, members, oldest = await self._shared_snapshot(org_id, workspace_id)
            requested = parse_event_id(workspace_id, last_event_id)
            if requested is not None and requested > head:  # read before that event: read again
                head, workspace, members, oldest = await self._own_snapshot(org_id, workspace_id)
        except ResourceNotFound:
            if last_event_id is None:
                self.registry.release(channel)
                raise
            plan = await self._after_deletion(
                channel, org_id, workspace_id, user_id, last_event_id, lifetime
            )
            plan.credential = credential
            return plan
        except BaseException:
            self.registry.release(channel)
            raise
        channel.start_at(head)
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
            "heartbeat_seconds": self.heartbeat_seconds,
        }
        opening = retry_hint(self._retry_ms()) + synthetic(
            org_id, workspace_id, start, EventType.SYNC_CONNECTED, connected
        )
        if reason is not None:
            reset = {"reason": reason, "last_event_id": last_event_id}
            opening += synthetic(org_id, workspace_id, head, EventType.SYNC_RESET, reset)
        outcome = "reset" if reason is not None else "resumed" if resumed else "live"
        return StreamPlan(
            channel,
            org_id,
            workspace_id,
            user_id,
            start,
            opening,
            lifetime,
            credential,
            outcome=outcome,
        )

    async def _after_deletion(
        self,
        channel: Channel,
        org_id: str,
        workspace_id: str,
        user_id: str,
        last_event_id: str,
        lifetime: float,
    ) -> StreamPlan:
        """A resume of a workspace deleted since: what the client missed, up to and with
        `workspace.deleted`, then the stream ends (its next resume is a 404). 404 if the log
        no longer holds all of it, or the id is not one of this workspace's."""
        try:
            requested = parse_event_id(workspace_id, last_event_id)
            async with self.db.reader() as conn:
                end = await eventlog.deleted_at(conn, org_id=org_id, workspace_id=workspace_id)
            if requested is None or end is None or requested >= end:
                raise ResourceNotFound("workspace", workspace_id)
            frames = await self.read_frames(org_id, workspace_id, requested, end)
            if not frames or frames[0].seq != requested + 1 or frames[-1].seq != end:
                raise ResourceNotFound("workspace", workspace_id)  # pruned meanwhile
        except BaseException:
            self.registry.release(channel)
            raise
        opening = retry_hint(self._retry_ms()) + b"".join(f.data for f in frames)
        return StreamPlan(
            channel,
            org_id,
            workspace_id,
            user_id,
            end,
            opening,
            lifetime,
            final=True,
            outcome="resumed",
        )

    async def serve(self, plan: StreamPlan, scope: Scope, receive: Receive, send: Send) -> None:
        """The response: headers, opening frames, replay, then live until the stream ends."""
        registry = self.registry
        channel = plan.channel
        stream = registry.new_stream(
            org_id=plan.org_id,
            workspace_id=plan.workspace_id,
            user_id=plan.user_id,
            lifetime=plan.lifetime,
            credential=plan.credential,
        )
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            port = scope.get("extensions", {}).get(EXTENSION)
            transport = port.take_over(stream) if port is not None else None
            scope[STREAM_WRITE_KEY] = "asgi" if transport is None else "direct"
            registry.opened(stream, transport, outcome=plan.outcome)
            stream.send(plan.opening)
            plan.opening = b""
            if registry.stopping or plan.final:
                stream.finish()
            elif await self._replay_safely(channel, stream, plan.start):
                registry.go_live(channel, stream)
        finally:
            registry.release(channel)
        if stream.transport is None:
            await _pump(stream, receive, send)

    async def _replay_safely(self, channel: Channel, stream: Stream, pos: int) -> bool:
        try:
            return await self._replay(channel, stream, pos)
        except Exception:
            log.exception("replay failed for %s; closing the stream", channel.workspace_id)
            stream.finish()
            return False

    async def _replay(self, channel: Channel, stream: Stream, pos: int) -> bool:
        """Send the events after `pos`; True once the stream is at the channel's position."""
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
                return True
            ring = channel.ring
            if ring and ring[0].seq <= pos + 1:
                stream.send(b"".join(f.data for f in ring if f.seq > pos))
                pos = ring[-1].seq
                continue
            frames = await self.read_frames(stream.org_id, channel.workspace_id, pos, last)
            if not frames or frames[0].seq != pos + 1:  # pruned meanwhile: the client resumes
                stream.finish()
                return False
            channel.keep_older(frames)  # the next stream resuming from here needs no read
            stream.send(b"".join(f.data for f in frames))
            pos = frames[-1].seq
            if stream.paused:
                await stream.wait_writable()
        return False


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
