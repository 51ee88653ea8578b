"""Presence: join, leave and viewing calls, stream connections, TTL and grace, announcements.

Live state (who joined, until when, open streams) lives in a `PresenceStore`; every change
of a member's desired state is announced through the event log by `announced.announce`,
which gives presence events their place in the workspace's order. Deadlines are checked
by `sweep`, which a background loop runs and tests call after moving the clock.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from redis.exceptions import RedisError

from mechamental.clock import Clock, raise_if_cancelled
from mechamental.config import Settings
from mechamental.db import Database
from mechamental.errors import ServiceUnavailable
from mechamental.sync.options import SyncTuning
from mechamental.sync.presence import ledger as announced
from mechamental.sync.presence.store import Desired, Key, PresenceStore, Viewing

log = logging.getLogger("mechamental.sync.presence.service")
RETRY_SECONDS = 1.0


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
        self._wake = asyncio.Event()
        self._flushing = asyncio.Lock()

    # Calls from the API.
    async def join(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """Announce the user (again): refreshes the TTL; `presence.joined` if they were absent."""
        await self._touch(org_id, (workspace_id, user_id), None)

    async def view(self, *, org_id: str, workspace_id: str, user_id: str, viewing: Viewing) -> None:
        """The user views a resource (and is present); `presence.viewing` if it changed."""
        await self._touch(org_id, (workspace_id, user_id), viewing)

    async def leave(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """The user leaves; quiet if they were not present."""
        key = (workspace_id, user_id)
        try:
            desired = await self.store.leave(key, now=self.clock.now())
        except (RedisError, OSError) as exc:
            raise ServiceUnavailable("Presence is unavailable right now") from exc
        if desired is not None:
            await self.announce(key, desired)

    async def _touch(self, org_id: str, key: Key, viewing: Viewing | None) -> None:
        now = self.clock.now()
        try:
            desired = await self.store.touch(
                key, org_id=org_id, now=now, ttl=self.ttl, viewing=viewing
            )
        except (RedisError, OSError) as exc:  # the shared store is down: say so, briefly
            raise ServiceUnavailable("Presence is unavailable right now") from exc
        if desired is not None:
            await self.announce(key, desired)

    async def announce(self, key: Key, desired: Desired) -> None:
        """Record the change in the event log; on failure the sweeper tries again."""
        try:
            await announced.announce(
                self.db,
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

    def stream_closed(self, *, workspace_id: str, user_id: str) -> None:
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
            keys, self._dirty = self._dirty, set()
            for key in keys:
                count = self._local.get(key, 0)
                org_id = self._orgs.get(key, "")
                at = self._changed_at.get(key, self.clock.now())
                try:
                    await self.store.set_streams(
                        key, org_id=org_id, count=count, now=at, grace=self.grace
                    )
                except Exception:
                    self._dirty.add(key)
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
        """Renew leases, recover a lost store, settle due members; the members settled."""
        now = self.clock.now()
        if await self.store.maintain(now=now, lease=self.lease, grace=self.grace):
            log.info("presence store was reset; restoring it")
            self._dirty.update(self._local)
            await self.seed()
        if self._dirty:
            await self.flush()
        settled = 0
        for key in await self.store.due(now=now, limit=500):
            desired, _ = await self.store.settle(key, now=now)
            try:
                await self.announce(key, desired)
            except Exception:
                continue
            settled += 1
        return settled

    async def seed(self) -> None:
        """Recreate announced members missing from the store; they stay for the grace period."""
        async with self.db.reader() as conn:
            rows = await announced.every_present(conn)
        until = self.clock.now() + self.grace
        for row in rows:
            viewing = (row.viewing_type, row.viewing_id) if row.viewing_type else None
            await self.store.seed(
                (row.workspace_id, row.user_id),
                org_id=row.org_id,
                viewing=viewing,
                version=int(row.version),
                until=until,
            )

    async def members(
        self,
        conn: Any,
        *,
        workspace_id: str,
        resource_type: str | None = None,
        resource_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The announced members with their live connection counts, optionally filtered."""
        rows = await announced.present_members(conn, workspace_id=workspace_id)
        try:
            counts = await self.store.connections(workspace_id)
        except Exception:  # the store is unreachable: members without their counts
            log.warning("presence store unreachable; connection counts omitted")
            counts = {}
        out: list[dict[str, Any]] = []
        for row in rows:
            if resource_type is not None and row.viewing_type != resource_type:
                continue
            if resource_id is not None and row.viewing_id != resource_id:
                continue
            out.append(
                {
                    "user_id": row.user_id,
                    "connections": counts.get(row.user_id, 0),
                    "viewing": announced.viewing_json(
                        (row.viewing_type, row.viewing_id) if row.viewing_type else None
                    ),
                    "since": row.since,
                }
            )
        return out
