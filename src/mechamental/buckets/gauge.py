"""How busy the event loop is with other work, so the bucket worker can step aside.

In the API process the worker's database work shares one event loop (and, on SQLite,
one write lock) with request handling. A probe measures how long a callback waits in the
loop's ready queue: microseconds when the loop idles, milliseconds while requests keep it
busy; and on PostgreSQL, where requests mostly wait on the database, how many pool
connections are in use. While it is busy the worker defers its next step, up to
`max_defer` seconds at a time, so a burst of requests is served at full speed and the
buckets follow right after. Samples taken while the worker itself is busy are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterator


class LoopGauge:
    """A background probe of the event loop's scheduling delay."""

    def __init__(
        self,
        *,
        in_use: Callable[[], int] = lambda: 0,
        interval: float = 0.01,
        busy_lag: float = 0.001,
        samples: int = 5,
    ) -> None:
        self.in_use = in_use
        self.interval = interval
        self.busy_lag = busy_lag
        self._stopped = False
        self._lags: deque[float] = deque(maxlen=samples)
        self._own = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin probing."""
        self._task = asyncio.create_task(self._probe(), name="bucket-loop-gauge")

    async def stop(self) -> None:
        """Stop probing; from now on the loop never counts as busy (shutdown goes first)."""
        self._stopped = True
        self._lags.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def own_work(self) -> Iterator[None]:
        """Mark the worker's own steps: the delay they cause is not someone else's load."""
        self._own += 1
        try:
            yield
        finally:
            self._own -= 1

    @property
    def busy(self) -> bool:
        """Whether recent probes found callbacks waiting, or requests hold DB connections."""
        if self._stopped:
            return False
        # On PostgreSQL requests mostly wait on the database, not the loop: count them there.
        others = self.in_use() - (1 if self._own else 0)
        return others > 1 or any(lag > self.busy_lag for lag in self._lags)

    async def quiet(self, *, max_defer: float) -> None:
        """Return once the loop is not busy, or after `max_defer` seconds at most."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_defer
        while self.busy and loop.time() < deadline:  # noqa: ASYNC110 - polling is the point
            await asyncio.sleep(self.interval)

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.interval)
            if self._own:
                continue
            began = loop.time()
            await asyncio.sleep(0)
            if not self._own:
                self._lags.append(loop.time() - began)
