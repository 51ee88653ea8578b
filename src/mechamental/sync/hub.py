"""The sync hub: this process's part of event fan-out and presence (a `Component`).

It wires the parts together and runs their background loops: the publisher that moves
committed events out of the outbox, the bus to other processes (Redis), the presence
service, and the fan-out (`fanout.registry`: channels, streams and their deadlines;
`fanout.session`: one stream from request to close, given what it needs from here).
Loops: heartbeats, stream timeouts, presence sweeps, orphan publishing (retention is
`mechamental.retention`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from mechamental import redis_conn
from mechamental.clock import Clock, raise_if_cancelled
from mechamental.config import Settings, SyncTuning
from mechamental.db import Database
from mechamental.ratelimit.component import limits_of
from mechamental.redis_conn import AnyRedis
from mechamental.services import Component, Services
from mechamental.sync.events import log as eventlog
from mechamental.sync.events import outbox
from mechamental.sync.events.bus import LocalBus, RedisBus
from mechamental.sync.events.frames import HEARTBEAT, Frame, encode
from mechamental.sync.events.publisher import Publisher
from mechamental.sync.fanout.registry import Listeners, StreamListener, StreamRegistry
from mechamental.sync.fanout.revocations import RevocationWatch
from mechamental.sync.fanout.session import ReadWorkspace, StreamSessions
from mechamental.sync.presence.memory_store import MemoryPresenceStore
from mechamental.sync.presence.redis_store import RedisPresenceStore
from mechamental.sync.presence.service import PresenceService
from mechamental.sync.presence.store import PresenceStore

log = logging.getLogger("mechamental.sync")
EXTRAS_KEY = "sync"


def redis_client(url: str, tuning: SyncTuning, *, name: str) -> AnyRedis:
    """A Redis client whose pool never holds more than `redis_max_connections` + 1."""
    return redis_conn.connect(
        url,
        name=name,
        max_connections=tuning.redis_max_connections + 1,
        timeout=tuning.redis_socket_timeout_seconds,
        health_check_interval=10,
    )


class SyncHub(Component):
    """Event streams and presence of this process."""

    name = "sync hub"

    def __init__(self, services: Services, *, read_workspace: ReadWorkspace) -> None:
        self.settings: Settings = services.settings
        self.db: Database = services.db
        self.tuning: SyncTuning = self.settings.sync
        self.clock: Clock = services.clock
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.redis: AnyRedis | None = None
        # Whether the presence lease loop last reached Redis (None without Redis): metrics.
        self.redis_up: bool | None = None
        store: PresenceStore = MemoryPresenceStore()
        self.bus: LocalBus | RedisBus = LocalBus()
        if self.settings.redis_url:
            prefix = self.settings.redis_prefix
            name = f"{prefix}:{self.process_id}".replace(" ", "_")
            self.redis = redis_client(self.settings.redis_url, self.tuning, name=name)
            self.redis_up = False
            store = RedisPresenceStore(self.redis, prefix=prefix, process_id=self.process_id)
            self.bus = RedisBus(
                self.redis, prefix=prefix, linger=self.tuning.subscription_linger_seconds
            )
        self.presence = PresenceService(
            db=self.db, store=store, clock=self.clock, settings=self.settings, tuning=self.tuning
        )
        listener: StreamListener = self.presence
        limits = limits_of(services)
        if limits is not None:  # the stream caps count opened streams until they end
            listener = Listeners(self.presence, limits.streams)
        self.registry = StreamRegistry(
            read=self.read_frames,
            listener=listener,
            interest=self.bus,
            ring_size=self.tuning.ring_size,
            batch_window=self.tuning.batch_window_seconds,
            queue_limit=self.settings.stream_queue_limit,
            wall_clock=self.clock.now,
        )
        self.revocations = RevocationWatch(self.db, self.registry)
        self.sessions = StreamSessions(
            db=self.db,
            registry=self.registry,
            read_frames=self.read_frames,
            members=self.presence,
            read_workspace=read_workspace,
            heartbeat_seconds=self.settings.heartbeat_seconds,
            retry_ms=self.settings.retry_ms,
        )
        self.publisher = Publisher(
            db=self.db,
            bus=self.bus,
            deliver=self.registry.deliver,
            tuning=self.tuning,
        )
        self._tasks: list[asyncio.Task[None]] = []
        self._resyncs: set[asyncio.Task[None]] = set()

    # Lifecycle.
    async def start(self) -> None:
        """Publish leftovers, restore presence, start the background loops."""
        self.db.listeners.add(outbox.EVENT_RECORDED, self.publisher.on_commit)
        try:
            await self.publisher.start()
        except Exception:
            log.warning("could not publish leftover events at start; will retry", exc_info=True)
        if not self.bus.remote:
            await self.presence.seed()  # members of the last run stay for the grace period
        loops: list[Callable[[], Coroutine[Any, Any, None]]] = [
            self.publisher.run,
            self._run_bus,
            self.presence.run_flusher,
            self._every(self.tuning.sweep_interval_seconds, self._renew, "presence lease"),
            self._every(self.tuning.sweep_interval_seconds, self.presence.settle, "presence sweep"),
            self._every(self.settings.heartbeat_seconds, self._heartbeat, "heartbeat"),
            self._every(self.registry.deadlines.resolution, self._expire_streams, "timeouts"),
            self._every(self.tuning.revocation_poll_seconds, self.revocations.poll, "revocations"),
        ]
        self._tasks = [asyncio.create_task(loop()) for loop in loops]
        _freeze_startup_objects()

    async def stop(self) -> None:
        """End every stream now, stop the loops, tell the store our streams are gone."""
        self.registry.close_all()
        self.db.listeners.remove(outbox.EVENT_RECORDED, self.publisher.on_commit)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=self.settings.shutdown_grace_seconds)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.presence.flush(), timeout=1.0)
        if self.redis is not None:
            await self.redis.aclose()

    async def _run_bus(self) -> None:
        await self.bus.run(self.registry.deliver, self._resync)

    def _every(
        self, seconds: float, work: Callable[[], Awaitable[Any]], name: str
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        async def loop() -> None:
            failing = False
            while True:
                await asyncio.sleep(seconds)
                try:
                    await work()
                    failing = False
                except Exception as exc:
                    raise_if_cancelled()
                    if not failing:
                        log.warning("%s failed (%s); retrying", name, exc)
                    failing = True

        return loop

    async def _renew(self) -> None:
        try:
            await self.presence.renew()
        except Exception:
            self.redis_up = False if self.redis is not None else None
            raise
        self.redis_up = True if self.redis is not None else None

    def stream_lifetime(self, timeout: int) -> float:
        """Seconds a stream asked for with `timeout` stays open (tests scale it down)."""
        return timeout * self.tuning.timeout_scale

    async def read_frames(
        self, org_id: str, workspace_id: str, after: int, upto: int
    ) -> list[Frame]:
        """Events `after < seq <= upto` of a workspace from the log, encoded."""
        async with self.db.reader() as conn:
            events = await eventlog.read_events(
                conn, org_id=org_id, workspace_id=workspace_id, after=after, upto=upto
            )
        return [encode(event) for event in events]

    def _resync(self, workspace_ids: list[str]) -> None:
        """The bus listens to these workspaces (again): their channels read from the log
        whatever was committed before."""
        ids = [ws for ws in dict.fromkeys(workspace_ids) if ws in self.registry.channels]
        if ids:
            task = asyncio.get_running_loop().create_task(self._resync_until_done(ids))
            self._resyncs.add(task)
            task.add_done_callback(self._resyncs.discard)

    async def _resync_until_done(self, workspace_ids: list[str]) -> None:
        delay = 0.2
        while True:
            try:
                await self.resync(workspace_ids)
                return
            except Exception as exc:
                raise_if_cancelled()
                log.warning("reading heads after a subscription failed (%s); retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                workspace_ids = [ws for ws in workspace_ids if ws in self.registry.channels]

    async def resync(self, workspace_ids: list[str] | None = None) -> None:
        """Bring these channels (default: every channel) up to the log's head."""
        ids = list(self.registry.channels) if workspace_ids is None else workspace_ids
        if not ids:
            return
        async with self.db.reader() as conn:
            heads = await eventlog.heads(conn, workspace_ids=ids)
        self.registry.catch_up(heads.items())

    # Loops.
    async def _expire_streams(self) -> None:
        self.registry.expire(asyncio.get_running_loop().time())

    async def _heartbeat(self) -> None:
        self.registry.heartbeat(HEARTBEAT)


_frozen = False


# Young collections every 50,000 net allocations instead of CPython's 700. At 700, objects
# that live a few milliseconds (a request awaiting its commit) were promoted so fast that a
# full collection of the 10,000 streams' objects ran every ~5 s, stalling every stream
# 130-225 ms (mixed-load bench; commit-to-receipt p99 131 ms). At 50,000 none ran in 60 s.
GC_YOUNG_THRESHOLD = 50_000


def _freeze_startup_objects() -> None:
    """Once per process, keep startup objects out of full garbage collections, and make
    those collections rare (`GC_YOUNG_THRESHOLD`)."""
    # Modules, routes and metadata never become garbage; scanning them made each full
    # collection stall the event loop (and every stream) for 100+ ms.
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def hub_of(services: Services) -> SyncHub:
    """The running process's sync hub."""
    hub: SyncHub = services.extras[EXTRAS_KEY]
    return hub


def sync_component(services: Services, *, read_workspace: ReadWorkspace) -> Component:
    """Component factory for `app.component_factories()`."""
    hub = SyncHub(services, read_workspace=read_workspace)
    services.extras[EXTRAS_KEY] = hub
    return hub
