"""The sync hub's clock: wall time that tests can move forward (presence TTL and grace)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime


class Clock:
    """Seconds since the epoch, plus an offset that only ever grows."""

    __slots__ = ("_offset",)

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """The current time in seconds."""
        return time.time() + self._offset

    def utcnow(self) -> datetime:
        """The current time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> None:
        """Jump forward (tests drive TTL and grace with this)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds


def raise_if_cancelled() -> None:
    """Re-raise cancellation that a library turned into another exception (loops use this)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


def version_stamp(previous: int = 0) -> int:
    """A presence version: microseconds of real time, strictly above `previous`."""
    return max(previous + 1, time.time_ns() // 1000)
