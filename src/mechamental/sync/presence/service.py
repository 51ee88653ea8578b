"""Presence: join, leave and viewing calls, stream connections, TTL and grace, announcements.

Live state (who joined, until when, open streams) lives in a `PresenceStore`; every change
of a member's desired state is announced through the event log by `ledger.announce`,
which gives presence events their place in the workspace's order. Deadlines are checked
by `settle` and this process's lease is renewed by `renew`, each in a background loop of
its own, so waiting on the database never lets the lease lapse; tests call `sweep` (both)
after moving the clock.

A Redis outage never ends a stream: presence calls answer 503 (with Retry-After) while
the store is unreachable, stream counts wait in this process, and when the store is back
(Redis keeps nothing on disk, so possibly empty) every process notices within its lease,
tells the store the streams it holds and seeds the announced members, each held for one
lease plus the grace. So presence converges to the members whose streams are still open,
without a left/joined pair for them; members nobody holds expire.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.exceptions import RedisError

from mechamental import metrics
from mechamental.clock import Clock, raise_if_cancelled
from mechamental.config import Settings, SyncTuning
from mechamental.db import Conn, Database
from mechamental.errors import ServiceUnavailable
from mechamental.sync.presence import ledger
from mechamental.sync.presence.store import Desired, Key, PresenceStore, Viewing

log = logging.getLogger("mechamental.sync.presence.service")
RETRY_SECONDS = 1.0
STORE_ERRORS = (RedisError, OSError)


class PresenceUnavailable(ServiceUnavailable):
    """The shared presence store (Redis) is unreachable; streams stay open meanwhile."""

    message = "Presence is unavailable right now"
    headers = {"Retry-After": "2"}


class PresenceService:
    """Presence of every workspace, as seen from this process."""

    def __init__(
        self,
        *,
        db: Database,
        store: PresenceStore,
        clock: Clock,
        settings: Settings,
        tuning: SyncTuning,
    ) -> None:
        self.db = db
        self.store = store
        self.clock = clock
        self.ttl = settings.presence_ttl_seconds
        self.grace = settings.presence_grace_seconds
        self.lease = tuning.process_lease_seconds
        self._local: dict[Key, int] = {}
        self._orgs: dict[Key, str] = {}
        self._changed_at: dict[Key, float] = {}
        self._dirty: set[Key] = set()
        self._unsure: set[Key] = set()  # members whose last step failed: maybe applied
        self._store_lost = False  # `renew` saw the store lose our state; `settle` recovers
        self._wake = asyncio.Event()
        self._flushing = asyncio.Lock()

    # Calls from the API.
    async def join(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """Announce the user (again): refreshes the TTL; `presence.joined` if they were absent."""
        metrics.presence_call("join")
        await self._touch(org_id, (workspace_id, user_id), None)

    async def view(self, *, org_id: str, workspace_id: str, user_id: str, viewing: Viewing) -> None:
        """The user views a resource (and is present); `presence.viewing` if it changed."""
        metrics.presence_call("viewing")
        await self._touch(org_id, (workspace_id, user_id), viewing)

    async def leave(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """The user leaves; quiet if they were not present."""
        metrics.presence_call("leave")
        key = (workspace_id, user_id)
        try:
            desired = await self.store.leave(key, now=self.clock.now())
        except STORE_ERRORS as exc:
            raise self._unavailable(key) from exc
        if desired is not None:
            await self.announce(key, desired)

    async def _touch(self, org_id: str, key: Key, viewing: Viewing | None) -> None:
        now = self.clock.now()
        try:
            desired = await self.store.touch(
                key, org_id=org_id, now=now, ttl=self.ttl, viewing=viewing
            )
        except STORE_ERRORS as exc:  # the shared store is down: say so, briefly
            raise self._unavailable(key) from exc
        if desired is not None:
            await self.announce(key, desired)

    def _unavailable(self, key: Key) -> PresenceUnavailable:
        # A step that timed out may still run once Redis answers: the sweep reconciles it.
        self._unsure.add(key)
        return PresenceUnavailable()

    async def announce(self, key: Key, desired: Desired) -> None:
        """Record the change in the event log; on failure the sweeper tries again."""
        try:
            async with self.db.transaction() as conn:
                await ledger.announce(
                    conn,
                    workspace_id=key[0],
                    user_id=key[1],
                    desired=desired,
                    now=self.clock.utcnow(),
                )
        except Exception:
            log.warning("presence announcement failed; will retry", exc_info=True)
            await self.store.retry_later(key, at=self.clock.now() + RETRY_SECONDS)
            raise

    # Streams hold presence.
    def stream_opened(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """A stream of the user opened in this process."""
        key = (workspace_id, user_id)
        self._local[key] = self._local.get(key, 0) + 1
        self._orgs[key] = org_id
        self._mark(key)

    def stream_closed(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """A stream of the user closed (or dropped) in this process."""
        key = (workspace_id, user_id)
        count = self._local.get(key, 0) - 1
        if count > 0:
            self._local[key] = count
        else:
            self._local.pop(key, None)
        self._mark(key)

    def open_streams(self, workspace_id: str, user_id: str) -> int:
        """Streams this process holds for the user."""
        return self._local.get((workspace_id, user_id), 0)

    def _mark(self, key: Key) -> None:
        self._changed_at[key] = self.clock.now()
        self._dirty.add(key)
        self._wake.set()

    async def flush(self) -> None:
        """Tell the store this process's stream counts that changed."""
        async with self._flushing:
            keys, self._dirty = list(self._dirty), set()
            for done, key in enumerate(keys):
                count = self._local.get(key, 0)
                org_id = self._orgs.get(key, "")
                at = self._changed_at.get(key, self.clock.now())
                try:
                    await self.store.set_streams(
                        key, org_id=org_id, count=count, now=at, grace=self.grace
                    )
                except Exception:
                    self._dirty.update(keys[done:])  # this one and every one not yet told
                    raise
                if count == 0 and key not in self._dirty:
                    self._orgs.pop(key, None)
                    self._changed_at.pop(key, None)

    async def run_flusher(self) -> None:
        """Background loop: push stream counts as they change."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                raise_if_cancelled()
                log.warning("presence store unreachable; stream counts kept for later")
                await asyncio.sleep(RETRY_SECONDS)
                self._wake.set()

    # Deadlines and recovery.
    async def sweep(self) -> int:
        """What the two background loops do (`settle` renews first); how many settled."""
        return await self.settle()

    async def renew(self) -> None:
        """Renew this process's lease and reap dead processes' streams (the store only).

        The hub runs this in a loop of its own. Settling waits on the database (one
        transaction per announcement); in the chaos run, a sweep announcing the leaves of a
        killed process during a PostgreSQL restart outlasted the 10 s lease, so the other
        process reaped this live one's streams and announced their users left.
        """
        if await self.store.maintain(now=self.clock.now(), lease=self.lease, grace=self.grace):
            self._store_lost = True

    async def settle(self) -> int:
        """Recover a lost store, then announce due and unsure members; how many settled.

        It renews first, so a store that came back empty is recovered before any member is
        settled against it (a member missing from the store settles as expired), and stops
        when the lease loop sees the store lost meanwhile.
        """
        await self.renew()
        if self._store_lost:
            self._store_lost = False
            try:
                await self.recover()
            except BaseException:
                self._store_lost = True
                raise
        if self._dirty:
            await self.flush()
        now = self.clock.now()
        settled = 0
        due = await self.store.due(now=now, limit=500)
        for key in [*self._unsure, *due]:
            if self._store_lost:  # recovered on the next round, before anything is settled
                break
            desired, _ = await self.store.settle(key, now=now)
            self._unsure.discard(key)
            try:
                await self.announce(key, desired)
            except Exception:
                continue
            settled += 1
        return settled

    async def recover(self) -> None:
        """The store lost its state: tell it our streams, then seed the announced members."""
        log.info("presence store was reset; restoring it")
        self._dirty.update(self._local)
        await self.flush()
        # Every live process renews its lease (and so notices the reset) within one lease:
        # until then a member may be held by streams the store has not heard of yet.
        await self.seed(hold=self.lease + self.grace)

    async def seed(self, *, hold: float | None = None) -> None:
        """Recreate announced members missing from the store, each for `hold` (the grace)."""
        async with self.db.reader() as conn:
            rows = await ledger.every_present(conn)
        until = self.clock.now() + (self.grace if hold is None else hold)
        for row in rows:
            viewing = (row.viewing_type, row.viewing_id) if row.viewing_type else None
            await self.store.seed(
                (row.workspace_id, row.user_id),
                org_id=row.org_id,
                viewing=viewing,
                version=int(row.version),
                until=until,
            )

    async def announced(self, conn: Conn, *, org_id: str, workspace_id: str) -> list[Any]:
        """The announced members, read on `conn` as of its position (database only)."""
        return await ledger.present_members(conn, org_id=org_id, workspace_id=workspace_id)

    async def describe(self, workspace_id: str, announced: list[Any]) -> list[dict[str, Any]]:
        """`announced` members as `sync.connected` lists them, with their connection counts
        (0 while the store is down, so a stream still opens).

        Called with no database connection held: a store that is restarting can take its
        whole socket timeout to answer, and a held connection would starve the pool.
        """
        try:
            counts = await self.store.connections(workspace_id)
        except STORE_ERRORS:
            log.warning("presence store unreachable; connection counts omitted")
            counts = {}
        return [_member_json(row, counts) for row in announced]

    async def list_members(
        self,
        *,
        org_id: str,
        workspace_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The announced members, optionally only those viewing a resource (503 if down)."""
        metrics.presence_call("list")
        async with self.db.reader() as conn:
            rows = await ledger.present_members(conn, org_id=org_id, workspace_id=workspace_id)
        try:  # after the connection is back in the pool (see `describe`)
            counts = await self.store.connections(workspace_id)
        except STORE_ERRORS as exc:
            raise PresenceUnavailable() from exc
        return [
            _member_json(row, counts)
            for row in rows
            if (resource_type is None or row["viewing_type"] == resource_type)
            and (resource_id is None or row["viewing_id"] == resource_id)
        ]


def _member_json(row: dict[str, Any], counts: dict[str, int]) -> dict[str, Any]:
    viewing = (row["viewing_type"], row["viewing_id"]) if row["viewing_type"] else None
    return {
        "user_id": row["user_id"],
        "connections": counts.get(row["user_id"], 0),
        "viewing": ledger.viewing_json(viewing),
        "since": row["since"],
    }
