"""This process's open streams: their channels, the queued (ASGI fallback) ones, deadlines.

The registry owns every per-stream entry the process keeps, so that a stream's end is
handled in one place, whichever way it ends (the client went away, it fell too far behind,
its time is up, its credential was revoked or expired, the workspace was deleted, the
server stops): the stream calls `closed`
once, which detaches it from its channel, drops a channel nobody uses, forgets its queue
slot and deadline, and tells the listener (presence, wired in by the hub). After that the
process holds nothing of the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, Protocol

from mechamental import metrics
from mechamental.sync.events.frames import Event, EventType, Frame, encode, notice
from mechamental.sync.fanout.channel import Channel
from mechamental.sync.fanout.connection import NO_CREDENTIAL, Credential, Stream
from mechamental.sync.fanout.deadlines import Deadlines
from mechamental.types import utcnow

# Events `after < seq <= upto` of (org, workspace) from the log, encoded.
ReadOrgFrames = Callable[[str, str, int, int], Awaitable[list[Frame]]]


class StreamListener(Protocol):
    """Told when a stream opens and closes (presence counts a user's connections)."""

    def stream_opened(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """A stream of the user started (after its response headers went out)."""

    def stream_closed(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """That stream ended, whichever way."""


class Interest(Protocol):
    """Told which workspaces this process has channels for (the bus subscribes to those)."""

    def want(self, workspace_id: str) -> None:
        """A channel of the workspace now exists here."""

    def unwant(self, workspace_id: str) -> None:
        """It was dropped (its last stream ended)."""

    async def ready(self, workspace_id: str) -> None:
        """Wait (briefly) until frames of the workspace reach this process."""


class Listeners:
    """Several listeners told in turn (presence, then the stream caps)."""

    def __init__(self, *listeners: StreamListener) -> None:
        self.listeners = listeners

    def stream_opened(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """Tell each that a stream opened."""
        for listener in self.listeners:
            listener.stream_opened(org_id=org_id, workspace_id=workspace_id, user_id=user_id)

    def stream_closed(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """Tell each that a stream ended."""
        for listener in self.listeners:
            listener.stream_closed(org_id=org_id, workspace_id=workspace_id, user_id=user_id)


def synthetic(
    org_id: str, workspace_id: str, seq: int, type_: EventType, data: dict[str, Any]
) -> bytes:
    """A frame of an event that is not in the log (its id is the position it belongs to)."""
    event = Event(org_id, workspace_id, seq, type_, None, utcnow(), data)
    return encode(event).data


class StreamRegistry:
    """Channels by workspace, queued streams and stream deadlines of this process."""

    def __init__(
        self,
        *,
        read: ReadOrgFrames,
        listener: StreamListener,
        interest: Interest,
        ring_size: int,
        batch_window: float,
        queue_limit: int,
        wall_clock: Callable[[], float],
    ) -> None:
        self.channels: dict[str, Channel] = {}
        self.queued: set[Stream] = set()
        self.deadlines: Deadlines[Stream] = Deadlines()
        # Streams whose credential ends (a key's expires_at, a JWT's exp), and by API key.
        self.credential_deadlines: Deadlines[Stream] = Deadlines()
        self.by_key: dict[str, set[Stream]] = {}
        self._wall_clock = wall_clock
        self.stopping = False
        self._read = read
        self._listener = listener
        self._interest = interest
        self._ring_size = ring_size
        self._batch_window = batch_window
        self._queue_limit = queue_limit

    # Channels.
    def hold(self, workspace_id: str, *, org_id: str) -> Channel:
        """The workspace's channel (created, position unknown, if needed), kept until `release`."""
        channel = self.channels.get(workspace_id)
        if channel is None:
            channel = Channel(
                workspace_id=workspace_id,
                read=partial(self._read, org_id),
                ring_size=self._ring_size,
                max_window=self._batch_window,
            )
            self.channels[workspace_id] = channel
            self._interest.want(workspace_id)
        channel.holds += 1  # frames arriving from now on are kept until the position is known
        return channel

    async def ready(self, channel: Channel) -> None:
        """Wait (briefly) until other processes' frames of the channel's workspace reach us."""
        await self._interest.ready(channel.workspace_id)

    def release(self, channel: Channel) -> None:
        """A stream being set up is done with the channel (attached or not)."""
        channel.holds -= 1
        self._drop_if_idle(channel)

    def _drop_if_idle(self, channel: Channel) -> None:
        if channel.idle and self.channels.get(channel.workspace_id) is channel:
            del self.channels[channel.workspace_id]
            self._interest.unwant(channel.workspace_id)

    def deliver(self, frame: Frame) -> None:
        """A committed event's frame, from this process or another."""
        channel = self.channels.get(frame.workspace_id)
        if channel is not None:
            channel.offer(frame)

    def catch_up(self, heads: Iterable[tuple[str, int]]) -> None:
        """The log holds events up to these positions: channels read what they missed."""
        for workspace_id, seq in heads:
            channel = self.channels.get(workspace_id)
            if channel is not None:
                channel.catch_up(seq)

    def heartbeat(self, plain: bytes) -> None:
        """A comment to every stream."""
        for channel in list(self.channels.values()):
            channel.heartbeat(plain)

    # Streams.
    def new_stream(
        self,
        *,
        org_id: str,
        workspace_id: str,
        user_id: str,
        lifetime: float,
        credential: Credential = NO_CREDENTIAL,
    ) -> Stream:
        """A stream, not yet open (nothing is kept of it until `opened`)."""
        return Stream(
            org_id=org_id,
            workspace_id=workspace_id,
            user_id=user_id,
            limit=self._queue_limit,
            lifetime=lifetime,
            on_close=self._closed,
            credential=credential,
        )

    def opened(
        self, stream: Stream, transport: asyncio.Transport | None, *, outcome: str = "live"
    ) -> None:
        """The response started: write to `transport`, or queue for ASGI sends without one.

        `outcome` (live, resumed, reset) is what the metric of stream opens counts."""
        metrics.stream_opened(outcome)
        if transport is not None:
            stream.use_transport(transport)
        else:
            stream.use_queue()
            self.queued.add(stream)
        token_id, expires_at = stream.credential
        if token_id is not None:
            self.by_key.setdefault(token_id, set()).add(stream)
        if expires_at is not None:
            remaining = expires_at - self._wall_clock()
            self.credential_deadlines.add(stream, asyncio.get_running_loop().time() + remaining)
        self._listener.stream_opened(
            org_id=stream.org_id, workspace_id=stream.workspace_id, user_id=stream.user_id
        )

    def go_live(self, channel: Channel, stream: Stream) -> None:
        """The stream has every event up to the channel's position: attach it, start its clock."""
        channel.add(stream)
        self.deadlines.add(stream, asyncio.get_running_loop().time() + stream.lifetime)

    def _closed(self, stream: Stream) -> None:
        """A stream ended (any way): forget it everywhere, tell the listener."""
        channel = self.channels.get(stream.workspace_id)
        if channel is not None:
            channel.remove(stream)
            self._drop_if_idle(channel)
        self.queued.discard(stream)
        self.deadlines.discard(stream)
        self.credential_deadlines.discard(stream)
        token_id = stream.credential.token_id
        if token_id is not None:
            streams = self.by_key.get(token_id)
            if streams is not None:
                streams.discard(stream)
                if not streams:
                    del self.by_key[token_id]
        metrics.stream_closed()
        self._listener.stream_closed(
            org_id=stream.org_id, workspace_id=stream.workspace_id, user_id=stream.user_id
        )

    def expire(self, now: float) -> int:
        """End the streams whose time is up (`sync.timeout`) or whose credential ended
        (`sync.unauthorized`, `token_expired`), then close them."""
        ended = self.credential_deadlines.expire(now, self._credential_expired)
        return ended + self.deadlines.expire(now, self._time_out)

    def revoke_keys(self, token_ids: Iterable[str]) -> int:
        """End the streams opened with these API keys (or their tickets): `token_revoked`."""
        ended = 0
        for token_id in token_ids:
            for stream in list(self.by_key.get(token_id, ())):
                self._unauthorized(stream, "token_revoked")
                ended += 1
        return ended

    def _credential_expired(self, stream: Stream) -> None:
        self._unauthorized(stream, "token_expired")

    def _unauthorized(self, stream: Stream, reason: str) -> None:
        # No position in the frame: the client resumes from the last event it received.
        channel = self.channels.get(stream.workspace_id)
        if channel is not None:
            channel.flush()  # what was already emitted reaches the stream first
        frame = notice(
            stream.org_id,
            stream.workspace_id,
            EventType.SYNC_UNAUTHORIZED,
            {"reason": reason},
            utcnow(),
        )
        stream.finish(frame)

    def _time_out(self, stream: Stream) -> None:
        # Say so, with the position to resume from, then close.
        channel = self.channels.get(stream.workspace_id)
        if channel is None or channel.last_seq is None:
            stream.finish()
            return
        channel.flush()  # the stream gets everything up to the position it resumes from
        data = {"timeout_seconds": stream.lifetime, "reconnect": True}
        stream.finish(
            synthetic(
                stream.org_id, stream.workspace_id, channel.last_seq, EventType.SYNC_TIMEOUT, data
            )
        )

    def close_all(self) -> None:
        """The server is stopping: end every stream now (and any that opens from now on)."""
        self.stopping = True
        for channel in list(self.channels.values()):
            channel.close_all()
        for stream in list(self.queued):
            stream.finish()
