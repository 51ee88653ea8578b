"""The Redis presence store: one view of presence across processes, on a single Redis or a
Redis Cluster alike (key layout, due hints and leases: `scripts`; the scripts: `lua/`).

Cost per step: one script round trip, plus one hint write when the step gave the member a
new or earlier deadline (`scripts` explains why hints are written afterwards), plus one set
write when a process's first stream of a member opens or its last one closes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
import zlib
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from mechamental.redis_conn import AnyRedis
from mechamental.sync.presence.scripts import DUE_SHARDS, script
from mechamental.sync.presence.store import Desired, Key, Viewing

log = logging.getLogger("mechamental.sync.presence.redis_store")
MEMBER_SCRIPTS = ("touch", "leave", "streams", "settle", "seed", "reap")
SCRIPTS = (*MEMBER_SCRIPTS, "lease", "drop", "epoch", "hint", "due", "resched")
EPOCH_SEARCH = 1 << 16  # tags tried to find an epoch key in one master's slots


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _desired(reply: list[Any]) -> tuple[Desired, bool]:
    present, version, viewing_type, viewing_id, reason, org, changed = reply[:7]
    viewing = (_text(viewing_type), _text(viewing_id)) if present and _text(viewing_type) else None
    return Desired(_text(org), bool(present), viewing, int(version), _text(reason)), bool(changed)


def _member(key: Key) -> str:
    return f"{key[0]}|{key[1]}"


def _key(raw: Any) -> Key:
    workspace_id, _, user_id = _text(raw).partition("|")
    return workspace_id, user_id


class RedisPresenceStore:
    """Presence shared by every process of a deployment through Redis."""

    remote = True

    def __init__(self, redis: AnyRedis, *, prefix: str, process_id: str) -> None:
        self._redis = redis
        self._p = f"{prefix}:presence"
        self._proc = process_id
        self._procs = f"{self._p}:{{procs}}"
        self._held_key = self._held_of(process_id)
        self._held: set[Key] = set()  # members in our held set (as far as we know)
        self._epochs: dict[str, str] = {}
        self._renewed = False  # a maintain has succeeded: our lease should be there
        self._reachable_since: float | None = None
        self._gens: dict[Key, str] = {}  # generation of each entry the last `due` read
        self._unwritten: dict[Key, float] = {}  # hints whose write failed: retried first
        self._scripts = {name: redis.register_script(script(name)) for name in SCRIPTS}

    # Keys.
    def _member_keys(self, key: Key) -> list[str]:
        tag = f"{self._p}:{{{key[0]}}}"
        return [f"{tag}:u:{key[1]}", f"{tag}:cn"]

    def _shard(self, workspace_id: str) -> list[str]:
        return self._shard_keys(zlib.crc32(workspace_id.encode()) % DUE_SHARDS)

    def _shard_keys(self, shard: int) -> list[str]:
        base = f"{self._p}:{{due:{shard}}}"
        return [base, f"{base}:g"]

    def _held_of(self, process_id: str) -> str:
        return f"{self._procs}:h:{process_id}"

    def _epoch_keys(self) -> list[str]:
        """One epoch key per master, in a slot it serves (one key on a single Redis)."""
        if not isinstance(self._redis, RedisCluster):
            return [f"{self._p}:{{epoch}}"]
        slots = self._redis.nodes_manager.slots_cache
        keys: list[str] = []
        for node in self._redis.get_primaries():
            for i in range(EPOCH_SEARCH):
                owners = slots.get(key_slot(f"epoch:{i}".encode()))
                if owners and owners[0].name == node.name:
                    keys.append(f"{self._p}:{{epoch:{i}}}")
                    break
        return keys

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._scripts[name](keys=keys, args=args)

    # Due hints.
    async def _hint(self, key: Key, at: str | float) -> None:
        """Make sure the member's hint is at or before `at` (kept for later on failure)."""
        try:
            await self._run("hint", self._shard(key[0]), [_member(key), at, secrets.token_hex(8)])
        except Exception:
            seconds = float(at)
            self._unwritten[key] = min(seconds, self._unwritten.get(key, seconds))
            raise

    async def _hint_quietly(self, key: Key, at: Any) -> None:
        """After a step that already happened: a failed hint write is retried by `due`."""
        if not _text(at):
            return
        try:
            await self._hint(key, _text(at))
        except Exception as exc:
            log.warning("presence: due hint not written (%s); retried by the sweep", exc)

    async def _write_unwritten(self) -> None:
        pending, self._unwritten = self._unwritten, {}
        for done, (key, at) in enumerate(pending.items()):
            try:
                await self._hint(key, at)
            except Exception:
                for rest, rest_at in list(pending.items())[done + 1 :]:
                    self._unwritten[rest] = min(rest_at, self._unwritten.get(rest, rest_at))
                raise

    # Per-member steps.
    async def touch(
        self, key: Key, *, org_id: str, now: float, ttl: float, viewing: Viewing | None
    ) -> Desired | None:
        viewing_type, viewing_id = viewing if viewing is not None else ("", "")
        args: list[Any] = [key[1], org_id, now, ttl, "1" if viewing else "0"]
        reply = await self._run("touch", self._member_keys(key), [*args, viewing_type, viewing_id])
        await self._hint_quietly(key, reply[7])
        desired, changed = _desired(reply)
        return desired if changed else None

    async def leave(self, key: Key, *, now: float) -> Desired | None:
        desired, changed = _desired(await self._run("leave", self._member_keys(key), [key[1], now]))
        return desired if changed else None

    async def set_streams(
        self, key: Key, *, org_id: str, count: int, now: float, grace: float
    ) -> None:
        if count > 0 and key not in self._held:  # before the count: the reaper must find it
            await self._redis.sadd(self._held_key, _member(key))
            self._held.add(key)
        args: list[Any] = [key[1], org_id, self._proc, count, now, grace]
        _, hint = await self._run("streams", self._member_keys(key), args)
        after = [self._hint_quietly(key, hint)]
        if count == 0 and key in self._held:  # after the count is gone
            after.append(self._forget_held(key))
        await asyncio.gather(*after)

    async def _forget_held(self, key: Key) -> None:
        await self._redis.srem(self._held_key, _member(key))
        self._held.discard(key)

    async def settle(self, key: Key, *, now: float) -> tuple[Desired, bool]:
        reply = await self._run("settle", self._member_keys(key), [key[1], now])
        deadline = _text(reply[8])
        gen = self._gens.pop(key, None)
        if gen is not None:  # read by `due`: the entry becomes the real deadline, or goes
            await self._run("resched", self._shard(key[0]), [_member(key), gen, deadline])
        else:
            await self._hint_quietly(key, deadline)
        return _desired(reply)

    async def due(self, *, now: float, limit: int) -> list[Key]:
        await self._write_unwritten()
        self._gens = {}
        keys: list[Key] = []
        for shard in range(DUE_SHARDS):
            reply = await self._run("due", self._shard_keys(shard), [now, limit - len(keys)])
            for i in range(0, len(reply), 2):
                key = _key(reply[i])
                self._gens[key] = _text(reply[i + 1])
                keys.append(key)
            if len(keys) >= limit:
                break
        return keys

    async def retry_later(self, key: Key, *, at: float) -> None:
        await self._hint(key, at)

    async def seed(
        self, key: Key, *, org_id: str, viewing: Viewing | None, version: int, until: float
    ) -> None:
        viewing_type, viewing_id = viewing if viewing is not None else ("", "")
        args: list[Any] = [key[1], org_id, viewing_type, viewing_id, version, until]
        _, hint = await self._run("seed", self._member_keys(key), args)
        if _text(hint):
            await self._hint(key, _text(hint))

    async def connections(self, workspace_id: str) -> dict[str, int]:
        raw = await self._redis.hgetall(self._member_keys((workspace_id, ""))[1])
        return {_text(user): int(count) for user, count in raw.items() if int(count) > 0}

    # Leases and store loss.
    async def maintain(self, *, now: float, lease: float, grace: float) -> bool:
        # Others are reaped only once we have reached the store for a whole lease: after an
        # outage every process gets one lease to renew before any is presumed dead.
        since = self._reachable_since
        reap = since is not None and now - since >= lease
        started = time.monotonic()
        try:
            reply = await self._run(
                "lease", [self._procs, self._held_key], [self._proc, now, lease, int(reap)]
            )
            changed = await self._check_epochs()
        except Exception:
            self._reachable_since = None
            raise
        if since is None:  # reachable again (or for the first time) as of the reply
            self._reachable_since = now + (time.monotonic() - started)
        had_lease, dead = bool(int(reply[0])), reply[1:]
        lost = changed or (self._renewed and not had_lease)
        self._renewed = True
        if lost:  # our held set may be gone with it: `recover` writes every count again
            self._held.clear()
        for i in range(0, len(dead), 2):
            try:
                await self._reap(_text(dead[i]), float(dead[i + 1]), lease=lease, grace=grace)
            except Exception as exc:  # the next maintain (ours or another's) goes on
                log.warning("presence: reaping a dead process failed (%s)", exc)
        return lost

    async def _check_epochs(self) -> bool:
        """Whether any master lost its data since we last looked (or is new and empty)."""
        keys = self._epoch_keys()
        replies = await asyncio.gather(
            *(self._run("epoch", [key], [secrets.token_hex(8)]) for key in keys)
        )
        changed = False
        epochs: dict[str, str] = {}
        for key, (token, created) in zip(keys, replies, strict=True):
            epochs[key] = _text(token)
            known = self._epochs.get(key)
            changed = changed or bool(int(created)) or (known is not None and known != epochs[key])
        self._epochs = epochs
        return changed

    async def _reap(self, process_id: str, deadline: float, *, lease: float, grace: float) -> None:
        """End a dead process's streams: each member it held, then its set and lease."""
        left_at = max(deadline - lease + grace, 0.0)
        held = self._held_of(process_id)
        for raw in await self._redis.smembers(held):
            key = _key(raw)
            args: list[Any] = [key[1], process_id, left_at]
            _, hint = await self._run("reap", self._member_keys(key), args)
            if _text(hint):
                await self._hint(key, _text(hint))
        await self._run("drop", [self._procs, held], [process_id])

    async def close(self) -> None:
        return None
