"""Stream timeouts on a coarse wheel: one slot per stream instead of a timer each.

Items are bucketed by `ceil(at / resolution)`; `expire(now)` runs every `resolution`
seconds and hands over every bucket whose time has come, so an item is never early and at
most one `resolution` late (plus the loop's own lag). An item that ends before its
deadline is `discard`ed at once: a closed stream kept until its deadline (up to the
stream's 2 h `timeout`) held its transport and socket, ~1.6 KB per closed stream.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Item = TypeVar("Item", bound=Hashable)


class Deadlines(Generic[Item]):
    """Items bucketed by when they time out (never early, at most `resolution` late)."""

    def __init__(self, resolution: float = 0.25) -> None:
        self.resolution = resolution
        self._buckets: dict[int, dict[Item, None]] = {}  # insertion-ordered sets
        self._bucket_of: dict[Item, int] = {}
        self._keys: list[int] = []  # a heap of the bucket keys not yet expired
        self._scheduled: set[int] = set()  # the same keys, to push each once

    def __len__(self) -> int:
        return len(self._bucket_of)

    def add(self, item: Item, at: float) -> None:
        """Time `item` out at loop time `at` (once: a later `add` moves it)."""
        self.discard(item)
        key = math.ceil(at / self.resolution)
        if key * self.resolution < at:  # float rounding must not make it early
            key += 1
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = {}
            if key not in self._scheduled:
                self._scheduled.add(key)
                heapq.heappush(self._keys, key)
        bucket[item] = None
        self._bucket_of[item] = key

    def discard(self, item: Item) -> None:
        """Forget `item` (it ended before its deadline); nothing if it has none."""
        key = self._bucket_of.pop(item, None)
        if key is None:
            return
        bucket = self._buckets.get(key)  # None while `expire` runs this bucket
        if bucket is not None:
            del bucket[item]
            if not bucket:
                del self._buckets[key]  # its key stays in the heap until its time

    def expire(self, now: float, on_expiry: Callable[[Item], None]) -> int:
        """Call `on_expiry` for every item whose deadline is at or before `now`.

        An item discarded by an earlier callback of the same bucket is skipped.
        """
        count = 0
        while self._keys and self._keys[0] * self.resolution <= now:
            key = heapq.heappop(self._keys)
            self._scheduled.discard(key)
            for item in self._buckets.pop(key, {}):
                if self._bucket_of.get(item) != key:
                    continue
                del self._bucket_of[item]
                on_expiry(item)
                count += 1
        return count
