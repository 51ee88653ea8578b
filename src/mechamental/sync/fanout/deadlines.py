"""Stream timeouts on a coarse wheel: one list slot per stream instead of a timer each."""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mechamental.sync.fanout.connection import Stream


class Deadlines:
    """Streams bucketed by when they time out (never early, at most `resolution` late)."""

    def __init__(self, resolution: float = 0.25) -> None:
        self.resolution = resolution
        self._buckets: dict[int, list[Stream]] = {}
        self._keys: list[int] = []

    def add(self, stream: Stream, at: float) -> None:
        """Time `stream` out at loop time `at`."""
        stream.deadline = at
        key = math.ceil(at / self.resolution)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = []
            heapq.heappush(self._keys, key)
        bucket.append(stream)

    def expire(self, now: float, on_expiry: Callable[[Stream], None]) -> int:
        """Call `on_expiry` for every open stream whose deadline has passed."""
        count = 0
        while self._keys and self._keys[0] * self.resolution <= now:
            key = heapq.heappop(self._keys)
            for stream in self._buckets.pop(key, []):
                if not stream.closed:
                    on_expiry(stream)
                    count += 1
        return count
