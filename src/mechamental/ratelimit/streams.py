"""Concurrent stream caps: `MAX_STREAMS_PER_USER` (per user in an org) and `MAX_STREAMS_PER_ORG`.

A stream takes a slot in the endpoint, before anything is sent (`acquire`, 429
`TOO_MANY_STREAMS` over a cap) and gives it back when it ends: through the registry's
listener (`stream_closed`) once it opened, or through `StreamSlot.release` if it never did
(a 404, the client gone before the headers). This process's counts are exact and kept in
memory; with Redis each process also writes its own counts there, under a lease it renews
every `beat` (the presence lease's pattern, in `lua/slots_*.lua`). Every key carries the
hash tag `{caps}` (one Cluster slot) and every script gets the keys it touches in KEYS:
the beat names dead processes, and the caller reads each one's held set and passes those
keys to the reap script. A process killed with SIGKILL stops renewing: its counts stop
mattering when its lease ends (`SYNC_PROCESS_LEASE_SECONDS`) and are deleted then, so nothing leaks.

Reconnect storms: a client resuming with Last-Event-ID most likely lost its stream with a
process that died; its old stream must not refuse it. A resume counts only processes that
renewed their lease within the last `4 x beat`; a fresh open counts every process whose
lease is live. (The stream-open token buckets take the rest of a storm: their bursts hold
one whole reconnect of a user's and of an org's streams.)
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from mechamental.clock import raise_if_cancelled
from mechamental.errors import TooManyStreams
from mechamental.ratelimit.buckets import lua

log = logging.getLogger("mechamental.ratelimit.streams")
WRITE_BATCH = 500  # count hashes per write (or reap) script call


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class StreamSlot:
    """One admitted stream's place, returned by `release` if the stream never opened."""

    __slots__ = ("_caps", "_held", "org_id", "user_id")

    def __init__(self, caps: StreamCaps, org_id: str, user_id: str) -> None:
        self._caps = caps
        self.org_id = org_id
        self.user_id = user_id
        self._held = True

    def release(self) -> None:
        """Give the slot back (idempotent)."""
        if self._held:
            self._held = False
            self._caps.drop(self.org_id, self.user_id)


class StreamCaps:
    """Open streams per user and per org, across processes when Redis is given."""

    def __init__(
        self,
        *,
        per_user: int,
        per_org: int,
        retry_after: int,
        clock: Any,
        redis: Any = None,
        prefix: str = "mm",
        process_id: str = "",
        lease: float = 10.0,
        beat: float = 0.5,
    ) -> None:
        self.per_user = per_user
        self.per_org = per_org
        self.retry_after = retry_after
        self._now = clock
        self.org_counts: dict[str, int] = {}
        self.user_counts: dict[tuple[str, str], int] = {}
        self._redis = redis
        self._proc = process_id
        self.lease = lease
        self.beat = beat
        tag = f"{prefix}:streams:{{caps}}"  # one hash tag: one Cluster slot for every key
        self._procs = f"{tag}:procs"
        self._org_key = f"{tag}:o:"
        self._user_key = f"{tag}:u:"
        self._held_prefix = f"{tag}:held:"
        self._held = f"{self._held_prefix}{process_id}"
        self._dirty: set[tuple[str, str | None]] = set()  # (org, user or None for the org)
        self._registered = False  # our lease exists: our counts in Redis are ours
        self._failing = False
        self.stopping = False
        if redis is not None:
            self._acquire = redis.register_script(lua("slots_acquire"))
            self._beat = redis.register_script(lua("slots_beat"))
            self._write = redis.register_script(lua("slots_write"))
            self._reap = redis.register_script(lua("slots_reap"))

    async def acquire(self, org_id: str, user_id: str, *, resuming: bool) -> StreamSlot:
        """A slot for one more stream of the user, or `TooManyStreams` (429)."""
        key = (org_id, user_id)
        org_n = self.org_counts.get(org_id, 0) + 1
        user_n = self.user_counts.get(key, 0) + 1
        if org_n > self.per_org:
            raise self._refusal("org", self.per_org, org_n - 1)
        if user_n > self.per_user:
            raise self._refusal("user", self.per_user, user_n - 1)
        self.org_counts[org_id] = org_n
        self.user_counts[key] = user_n
        self._dirty.add((org_id, None))
        self._dirty.add(key)
        slot = StreamSlot(self, org_id, user_id)
        if self._redis is None or not self._registered:
            return slot
        stale = 4 * self.beat if resuming else -1
        keys = [self._procs, self._org_key + org_id, f"{self._user_key}{org_id}:{user_id}"]
        args: list[Any] = [self._proc, self._now(), self.lease, stale, self.per_org]
        args += [self.per_user, org_n, user_n]
        try:
            admitted, scope, current = await self._acquire(keys=[*keys, self._held], args=args)
        except Exception as exc:
            raise_if_cancelled()
            # Redis away: this process's own counts still cap the stream (the lease loop
            # logs the outage once, and writes the counts when Redis is back).
            log.debug("stream caps: Redis unreachable (%s); counting this process only", exc)
            return slot
        if not admitted:
            slot.release()
            scope = scope.decode() if isinstance(scope, bytes) else str(scope)
            limit = self.per_org if scope == "org" else self.per_user
            raise self._refusal(scope, limit, int(current))
        return slot

    def _refusal(self, scope: str, limit: int, current: int) -> TooManyStreams:
        return TooManyStreams(
            limit=limit, current=current, scope=scope, retry_after=self.retry_after
        )

    def drop(self, org_id: str, user_id: str) -> None:
        """One stream of the user ended (or never opened)."""
        key = (org_id, user_id)
        n = self.org_counts.get(org_id, 0) - 1
        if n > 0:
            self.org_counts[org_id] = n
        else:
            self.org_counts.pop(org_id, None)
        n = self.user_counts.get(key, 0) - 1
        if n > 0:
            self.user_counts[key] = n
        else:
            self.user_counts.pop(key, None)
        self._dirty.add((org_id, None))
        self._dirty.add(key)

    # The registry's listener (`sync.fanout.registry.StreamListener`).
    def stream_opened(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """The stream's slot was taken in the endpoint: nothing to count here."""

    def stream_closed(self, *, org_id: str, workspace_id: str, user_id: str) -> None:
        """An opened stream ended: its slot is free."""
        self.drop(org_id, user_id)

    # Redis: our lease and our counts.
    async def sync(self) -> None:
        """Renew our lease and write the counts that changed (all of them if it had lapsed)."""
        assert self._redis is not None
        now = self._now()
        had, *dead = await self._beat(
            keys=[self._procs, self._held], args=[self._proc, now, self.lease]
        )
        if not int(had):
            self._dirty |= {(org, None) for org in self.org_counts}
            self._dirty |= set(self.user_counts)
        self._registered = True
        dirty, self._dirty = self._dirty, set()
        try:
            keys: list[str] = []
            counts: list[int] = []
            for org_id, user_id in dirty:
                if user_id is None:
                    keys.append(self._org_key + org_id)
                    counts.append(self.org_counts.get(org_id, 0))
                else:
                    keys.append(f"{self._user_key}{org_id}:{user_id}")
                    counts.append(self.user_counts.get((org_id, user_id), 0))
            for start in range(0, len(keys), WRITE_BATCH):
                chunk = slice(start, start + WRITE_BATCH)
                await self._write(
                    keys=[self._held, *keys[chunk]], args=[self._proc, *counts[chunk]]
                )
        except BaseException:
            self._dirty |= dirty
            raise
        for raw in dead:
            await self._reap_process(_text(raw), now)

    async def _reap_process(self, dead: str, now: float) -> None:
        """Drop a dead process's counts: its held set in batches, then the set and lease
        (every key passed in KEYS; a crash midway leaves the rest to the next beat)."""
        assert self._redis is not None
        held = f"{self._held_prefix}{dead}"
        members = sorted(_text(m) for m in await self._redis.smembers(held))
        for start in range(0, max(len(members), 1), WRITE_BATCH):
            chunk = members[start : start + WRITE_BATCH]
            last = "1" if start + WRITE_BATCH >= len(members) else "0"
            await self._reap(keys=[self._procs, held, *chunk], args=[dead, now, last])

    async def run(self) -> None:
        """Background loop: `sync` every `beat` seconds; one log line per outage.

        It checks for cancellation after each round: redis-py may turn a cancellation into a
        connection error that its retry then swallows, and the loop would never end.
        """
        while not self.stopping:
            try:
                await self.sync()
                if self._failing:
                    log.info("stream caps: Redis reachable again")
                self._failing = False
            except Exception as exc:
                raise_if_cancelled()
                if not self._failing:
                    log.warning("stream caps: Redis unreachable (%s); retrying", exc)
                self._failing = True
            raise_if_cancelled()
            await asyncio.sleep(self.beat)

    async def leave(self) -> None:
        """Shutdown: write our (now zero) counts and give up our lease."""
        if self._redis is None or not self._registered:
            return
        await self.sync()
        await self._redis.zrem(self._procs, self._proc)
        await self._redis.delete(self._held)
