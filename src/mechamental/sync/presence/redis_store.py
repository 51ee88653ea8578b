"""The Redis presence store: one view of presence across processes (its scripts: `lua/`)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from redis.asyncio import Redis

from mechamental.sync.presence.scripts import script
from mechamental.sync.presence.store import Desired, Key, Viewing


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _desired(reply: list[Any]) -> tuple[Desired, bool]:
    present, version, viewing_type, viewing_id, reason, org, changed = reply
    viewing = (_text(viewing_type), _text(viewing_id)) if present and _text(viewing_type) else None
    return Desired(_text(org), bool(present), viewing, int(version), _text(reason)), bool(changed)


class RedisPresenceStore:
    """Presence shared by every process of a deployment through Redis."""

    remote = True

    def __init__(self, redis: Redis, *, prefix: str, process_id: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:presence"
        self._proc = process_id
        self._epoch: str | None = None
        self._reachable_since: float | None = None
        self._touch = redis.register_script(script("touch"))
        self._leave = redis.register_script(script("leave"))
        self._streams = redis.register_script(script("streams"))
        self._settle = redis.register_script(script("settle"))
        self._seed = redis.register_script(script("seed"))
        self._maintain = redis.register_script(script("maintain"))

    async def touch(
        self, key: Key, *, org_id: str, now: float, ttl: float, viewing: Viewing | None
    ) -> Desired | None:
        viewing_type, viewing_id = viewing if viewing is not None else ("", "")
        args: list[str | float] = [self._prefix, *key, org_id, now, ttl, "1" if viewing else "0"]
        args += [viewing_type, viewing_id]
        desired, changed = _desired(await self._touch(args=args))
        return desired if changed else None

    async def leave(self, key: Key, *, now: float) -> Desired | None:
        desired, changed = _desired(await self._leave(args=[self._prefix, *key, now]))
        return desired if changed else None

    async def set_streams(
        self, key: Key, *, org_id: str, count: int, now: float, grace: float
    ) -> None:
        args: list[str | float] = [self._prefix, *key, org_id, self._proc, count, now, grace]
        await self._streams(args=args)

    async def settle(self, key: Key, *, now: float) -> tuple[Desired, bool]:
        return _desired(await self._settle(args=[self._prefix, *key, now]))

    async def due(self, *, now: float, limit: int) -> list[Key]:
        members = await self._redis.zrangebyscore(
            f"{self._prefix}:due", "-inf", now, start=0, num=limit
        )
        keys: list[Key] = []
        for raw in members:
            workspace_id, _, user_id = _text(raw).partition("|")
            keys.append((workspace_id, user_id))
        return keys

    async def retry_later(self, key: Key, *, at: float) -> None:
        await self._redis.zadd(f"{self._prefix}:due", {f"{key[0]}|{key[1]}": at})

    async def seed(
        self, key: Key, *, org_id: str, viewing: Viewing | None, version: int, until: float
    ) -> None:
        viewing_type, viewing_id = viewing if viewing is not None else ("", "")
        args: list[str | float] = [self._prefix, *key, org_id, viewing_type, viewing_id]
        args += [version, until]
        await self._seed(args=args)

    async def connections(self, workspace_id: str) -> dict[str, int]:
        raw = await self._redis.hgetall(f"{self._prefix}:cn:{workspace_id}")
        return {_text(user): int(count) for user, count in raw.items() if int(count) > 0}

    async def maintain(self, *, now: float, lease: float, grace: float) -> bool:
        # Others are reaped only once we have reached the store for a whole lease: after an
        # outage every process gets one lease to renew before any is presumed dead.
        since = self._reachable_since
        reap = since is not None and now - since >= lease
        args: list[str | float] = [self._prefix, self._proc, now, lease, grace]
        args += [secrets.token_hex(8), "1" if reap else "0"]
        started = time.monotonic()
        try:
            epoch, created, had_lease = await self._maintain(args=args)
        except Exception:
            self._reachable_since = None
            raise
        if since is None:  # reachable again (or for the first time) as of the reply
            self._reachable_since = now + (time.monotonic() - started)
        epoch = _text(epoch)
        known = self._epoch is not None
        lost = bool(created) or (known and (epoch != self._epoch or not had_lease))
        self._epoch = epoch
        return lost

    async def close(self) -> None:
        return None
