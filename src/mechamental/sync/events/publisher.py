"""The outbox publisher: committed events to this process's channels and to the bus.

After a commit, `on_commit` hands each event's frame to local channels at once and
queues it for the bus. Rows stay `published = false` until the bus has them, so a
process that dies in between leaves them for the next start, or for any other process
once they are `orphan_after_seconds` old. Embedded (no bus) nobody else is waiting:
the flag is cleared in batches, and at start for rows a crashed run left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from mechamental import metrics
from mechamental.clock import raise_if_cancelled
from mechamental.config import SyncTuning
from mechamental.db import Database
from mechamental.sync.events import log as eventlog
from mechamental.sync.events.bus import LocalBus, RedisBus
from mechamental.sync.events.frames import Event, Frame, encode

log = logging.getLogger("mechamental.sync.events.publisher")


class Publisher:
    """Moves committed events out of the outbox."""

    def __init__(
        self,
        *,
        db: Database,
        bus: LocalBus | RedisBus,
        deliver: Callable[[Frame], None],
        tuning: SyncTuning,
    ) -> None:
        self.db = db
        self.bus = bus
        self.deliver = deliver
        self.tuning = tuning
        self._queue: list[Frame] = []
        self._wake = asyncio.Event()
        self._failing = False

    def on_commit(self, event: Event) -> None:
        """Outbox listener: an event just committed in this process."""
        metrics.event_committed(event.type)
        if not self.tuning.publish:
            return
        frame = encode(event, time.time())
        asyncio.get_running_loop().call_soon(self.deliver, frame)
        self._queue.append(frame)
        if self.bus.remote:
            self._wake.set()  # embedded, the flag is cleared at the next tick, in batches

    async def start(self) -> None:
        """Publish whatever an earlier run left behind."""
        if not self.bus.remote:
            async with self.db.transaction() as conn:
                count = await eventlog.mark_all_published(conn)
            if count:
                log.info("cleared %d events left unpublished by an earlier run", count)
            return
        await self.publish_orphans(older_than=None)

    async def run(self) -> None:
        """Background loop: publish queued frames, and orphans from dead processes."""
        interval = self.tuning.drain_interval_seconds
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()
            if not self.tuning.publish:
                continue
            try:
                await self.publish_queued()
                if self.bus.remote:
                    await self.publish_orphans(older_than=self.tuning.orphan_after_seconds)
                if self._failing:
                    log.info("publishing works again")
                self._failing = False
            except Exception as exc:
                raise_if_cancelled()
                # The rows stay unpublished: `publish_orphans` finds them once the bus is back.
                if not self._failing:
                    log.warning("publishing failed (%s); will retry from the outbox", exc)
                self._failing = True
                if self.bus.remote:
                    self._queue.clear()

    async def publish_queued(self) -> None:
        """Publish and flag what this process committed since the last tick."""
        while self._queue:
            frames = self._queue[:500]
            await self.bus.publish(frames)
            await self._mark_published(frames)
            del self._queue[: len(frames)]

    async def publish_orphans(self, *, older_than: float | None) -> int:
        """Publish outbox rows nobody published (all, or only those older than a while)."""
        total = 0
        cutoff = None
        if older_than is not None:
            cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        while True:
            async with self.db.reader() as conn:
                rows = await eventlog.unpublished(conn, committed_before=cutoff)
            if not rows:
                return total
            frames = [encode(event) for _, event in rows]
            for frame in frames:
                self.deliver(frame)
            await self.bus.publish(frames)
            await self._mark_published(frames)
            total += len(frames)
            if len(rows) < 500:
                return total

    async def _mark_published(self, frames: list[Frame]) -> None:
        keys = [(frame.workspace_id, frame.seq) for frame in frames]
        async with self.db.transaction() as conn:
            await eventlog.mark_published(conn, keys=keys)
