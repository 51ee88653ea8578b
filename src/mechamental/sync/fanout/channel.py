"""A workspace's fan-out in this process: its position, recent frames and open streams.

Frames arrive from the publisher (this process's commits) and the bus (other processes),
possibly twice or out of order: the channel keeps the workspace's order by `seq`, drops
duplicates, and reads any gap from the event log before going on. Each batch is joined
and chunk-framed once and written to every up-to-date stream with one `transport.write`.
The registry owns the channel's life (`holds`, `idle`); the channel owns order and writes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from mechamental import metrics
from mechamental.sync.events.frames import EventType, Frame, chunk
from mechamental.sync.fanout.connection import Stream

log = logging.getLogger("mechamental.sync.fanout.channel")
DELETED = EventType.WORKSPACE_DELETED
MIN_WINDOW = 0.002  # seconds
BATCH_FACTOR = 3.0  # fan-out of one busy channel takes at most ~1/(1+3) of the loop
ReadFrames = Callable[[str, int, int], Awaitable[list[Frame]]]


class Channel:
    """Fan-out of one workspace's events to this process's streams."""

    def __init__(
        self,
        *,
        workspace_id: str,
        read: ReadFrames,
        ring_size: int,
        max_window: float = 0.0,
    ) -> None:
        self.workspace_id = workspace_id
        self.last_seq: int | None = None  # unknown until the first stream reads the log
        self.ring: deque[Frame] = deque(maxlen=ring_size)
        self.direct: dict[Stream, Callable[[bytes], None]] = {}
        self.others: set[Stream] = set()
        self.holds = 0  # streams being set up: the channel stays while they replay
        self.deleted = False
        self._read = read
        self._pending: dict[int, Frame] = {}
        self._target = 0
        self._fetch: asyncio.Task[None] | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._iterating = False
        self._demoted: list[Stream] = []
        self._unsent: list[Frame] = []  # emitted, not yet written: written together
        self._flush_at: asyncio.Handle | None = None
        self._last_flush = 0.0
        self._last_cost = 0.0
        self.max_window = max_window

    @property
    def size(self) -> int:
        """Streams attached."""
        return len(self.direct) + len(self.others)

    @property
    def idle(self) -> bool:
        """No stream attached or being set up: the registry may drop the channel."""
        return not self.direct and not self.others and not self.holds

    # Ordering.
    def start_at(self, seq: int) -> None:
        """Set the position once it is known (the log was read after frames were awaited)."""
        if self.last_seq is not None:
            return
        self.last_seq = seq
        for old in [s for s in self._pending if s <= seq]:
            del self._pending[old]
        self._advance()

    def offer(self, frame: Frame) -> None:
        """A frame of this workspace: emitted in order, buffered, or dropped as a duplicate."""
        if self.last_seq is not None and frame.seq <= self.last_seq:
            return
        if self.last_seq is not None and frame.seq == self.last_seq + 1 and self._fetch is None:
            self._emit([frame])
            self._advance()
            return
        self._pending[frame.seq] = frame
        self._advance()

    def keep_older(self, frames: list[Frame]) -> None:
        """Frames read from the log that end where the ring begins (or at our position, the
        ring empty): kept in front of it, so that replays from there need no read."""
        if not frames:
            return
        first = self.ring[0].seq if self.ring else (self.last_seq or 0) + 1
        if frames[-1].seq + 1 == first and len(self.ring) < (self.ring.maxlen or 0):
            self.ring = deque([*frames, *self.ring], maxlen=self.ring.maxlen)

    def catch_up(self, seq: int) -> None:
        """The log holds events up to `seq`: read whatever this channel has not emitted."""
        self._target = max(self._target, seq)
        self._advance()

    def _advance(self) -> None:
        if self.last_seq is None or self._fetch is not None:
            return
        batch: list[Frame] = []
        while (frame := self._pending.pop(self.last_seq + len(batch) + 1, None)) is not None:
            batch.append(frame)
        if batch:
            self._emit(batch)
        if self._pending:
            self._target = max(self._target, max(self._pending))
        if self._target > self.last_seq and not self.deleted:
            self._fetch = asyncio.get_running_loop().create_task(self._read_gap())

    async def _read_gap(self) -> None:
        try:
            while not self.deleted and self.last_seq is not None and self._target > self.last_seq:
                frames = await self._read(self.workspace_id, self.last_seq, self._target)
                if not frames or frames[0].seq != self.last_seq + 1:
                    log.warning("event log gap in %s; closing streams", self.workspace_id)
                    self.close_all()
                    self.last_seq = self._target
                    break
                self._emit(frames)
                for old in [s for s in self._pending if s <= self.last_seq]:
                    del self._pending[old]
        except Exception:
            log.exception("reading the event log failed for %s", self.workspace_id)
            self._fetch = None
            asyncio.get_running_loop().call_later(0.5, self._advance)
            return
        self._fetch = None
        self._advance()

    async def reach(self, seq: int) -> None:
        """Wait until this channel has emitted `seq`."""
        if self.last_seq is not None and self.last_seq >= seq:
            return
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, future))
        self.catch_up(seq)
        await future

    # Fan-out.
    def _emit(self, frames: list[Frame]) -> None:
        self.ring.extend(frames)
        self.last_seq = frames[-1].seq
        if self._flush_at is None:
            # Write at once if the last write was a while ago; otherwise a little later, so
            # that a burst of events costs each stream one write. The wait grows with what a
            # write to every stream costs (small rooms: ~none), up to `max_window`.
            loop = asyncio.get_running_loop()
            window = min(self.max_window, max(MIN_WINDOW, BATCH_FACTOR * self._last_cost))
            due = self._last_flush + window
            if due <= loop.time():
                self._flush_at = loop.call_soon(self.flush)
            else:
                self._flush_at = loop.call_at(due, self.flush)
        self._unsent.extend(frames)
        if self._waiters:
            ready = [w for w in self._waiters if w[0] <= self.last_seq]
            self._waiters = [w for w in self._waiters if w[0] > self.last_seq]
            for _, future in ready:
                if not future.done():
                    future.set_result(None)
        if any(f.type == DELETED for f in frames):
            self.deleted = True
            self.flush()
            self.close_all()

    def flush(self) -> None:
        """Write what was emitted since the last flush: one write per stream for all of it."""
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        frames, self._unsent = self._unsent, []
        if frames:
            loop = asyncio.get_running_loop()
            self._last_flush = loop.time()
            self.broadcast(frames[0].data if len(frames) == 1 else b"".join(f.data for f in frames))
            self._last_cost = loop.time() - self._last_flush
            if self.direct or self.others:
                metrics.fanout_written(f.committed_at for f in frames)

    def broadcast(self, plain: bytes) -> None:
        """Write SSE frames to every stream: encoded and framed once, one write each."""
        data = self._write_direct(plain)
        if self.others:
            for stream in list(self.others):
                stream.push(data if stream.transport is not None else plain)
        self._apply_demotions()

    def heartbeat(self, plain: bytes) -> None:
        """Write a comment to every stream that is not behind (slow ones have data waiting)."""
        self._write_direct(plain)
        for stream in list(self.others):
            if stream.transport is None:
                stream.push(plain)
        self._apply_demotions()

    def _write_direct(self, plain: bytes) -> bytes:
        data = chunk(plain)
        self._iterating = True
        try:
            for write in self.direct.values():
                write(data)
        finally:
            self._iterating = False
        return data

    def _apply_demotions(self) -> None:
        # Streams that paused during the write above already have that data buffered.
        if self._demoted:
            for stream in self._demoted:
                self._move_to_others(stream)
            self._demoted.clear()

    # Membership.
    def add(self, stream: Stream) -> None:
        """Attach a stream that is exactly at `last_seq`."""
        self.flush()  # the stream already has everything up to last_seq
        stream.flow = self
        if stream.transport is not None and not stream.paused:
            self.direct[stream] = stream.write
        else:
            self.others.add(stream)

    def remove(self, stream: Stream) -> None:
        """Detach a stream (closed or dropped)."""
        self.direct.pop(stream, None)
        self.others.discard(stream)
        stream.flow = None

    def demote(self, stream: Stream) -> None:
        """A direct stream's client is slow: stop writing to it on the fast path."""
        if self._iterating:
            self._demoted.append(stream)
        else:
            self._move_to_others(stream)

    def _move_to_others(self, stream: Stream) -> None:
        if self.direct.pop(stream, None) is not None and not stream.closed:
            self.others.add(stream)

    def promote(self, stream: Stream) -> None:
        """A slow client caught up: back to the fast path."""
        if stream in self.others and stream.transport is not None and not stream.closed:
            self.others.discard(stream)
            self.direct[stream] = stream.write

    def close_all(self) -> None:
        """End every stream (after what was emitted) and every wait for a position."""
        self.flush()
        for stream in [*self.direct, *self.others]:
            stream.finish()
        for _, future in self._waiters:
            if not future.done():
                future.cancel()
        self._waiters.clear()
