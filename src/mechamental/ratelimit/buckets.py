"""Token buckets as GCRA: a bucket is one number, its theoretical arrival time (TAT).

A call at `now` is allowed when `max(TAT, now) + interval - now <= capacity` (the bucket
holds a token; `Policy.limit` adds a little slack for clock skew), and moves the TAT by
one interval. Two buckets (the credential's and the
org's) are taken together or not at all, so a call refused by the org costs the
credential nothing. In memory (one process) a dict of floats; across processes one Lua
script (`lua/take.lua`) on Redis, whose two keys share the org's hash tag (one Cluster
slot, so the script may touch both). Time is the caller's (`Services.clock`), so tests
move it forward; Redis keys expire when their bucket is whole again.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from mechamental.ratelimit.policy import Policy
from mechamental.redis_conn import AnyRedis

# Taken: (allowed, TAT of the first bucket, TAT of the second), both at least `now`.
Taken = tuple[bool, float, float]
SWEEP_MIN = 10_000  # entries before the in-memory store first drops whole buckets


def lua(name: str) -> str:
    """The source of one of this package's scripts."""
    return files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")


class MemoryBuckets:
    """Buckets of one process. O(1) per call; whole buckets are dropped in amortized sweeps."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}
        self._sweep_at = SWEEP_MIN

    def take(self, first: str, second: str, p1: Policy, p2: Policy, now: float) -> Taken:
        """Take a call from both buckets, or from neither."""
        tat = self._tat
        t1 = max(tat.get(first, now), now)
        t2 = max(tat.get(second, now), now)
        if t1 + p1.interval - now > p1.limit or t2 + p2.interval - now > p2.limit:
            return False, t1, t2
        t1 += p1.interval
        t2 += p2.interval
        tat[first] = t1
        tat[second] = t2
        if len(tat) > self._sweep_at:
            self._sweep(now)
        return True, t1, t2

    def _sweep(self, now: float) -> None:
        """Forget buckets that are whole again (the same as never seen)."""
        self._tat = {key: t for key, t in self._tat.items() if t > now}
        self._sweep_at = max(SWEEP_MIN, 2 * len(self._tat))

    def __len__(self) -> int:
        return len(self._tat)


class RedisBuckets:
    """Buckets shared by every process through Redis: one script call per check."""

    def __init__(self, redis: AnyRedis) -> None:
        self._take = redis.register_script(lua("take"))

    async def take(self, first: str, second: str, p1: Policy, p2: Policy, now: float) -> Taken:
        """Take a call from both buckets, or from neither (atomic in Redis)."""
        args: list[Any] = [repr(now), p1.interval, p1.limit, p2.interval, p2.limit]
        allowed, t1, t2 = await self._take(keys=[first, second], args=args)
        return bool(allowed), float(t1), float(t2)
