"""The database layer's connection budget, fair admission to pools, and what an outage is.

Kept apart from db.py so that file stays the interface and its two implementations.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy import exc as sa_exc

# SQLSTATEs of a server that is going away or not there yet, and of a full server.
_OUTAGE_STATES = {"57P01", "57P02", "57P03", "53300"}
_OUTAGE_TYPES = (OSError, TimeoutError, sa_exc.TimeoutError, asyncpg.PostgresConnectionError)


def is_outage(exc: BaseException) -> bool:
    """Whether `exc` (or what caused it) means "the database is not reachable right now"."""
    current: BaseException | None = exc
    for _ in range(6):
        if current is None:
            return False
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, _OUTAGE_TYPES):
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and (state in _OUTAGE_STATES or state.startswith("08")):
            return True
        if isinstance(current, asyncpg.InternalClientError):  # a connection in a broken state
            return True
        if isinstance(current, asyncpg.InterfaceError) and "closed" in str(current):
            return True
        if isinstance(current, sqlite3.OperationalError) and "locked" in str(current):
            return True
        if isinstance(current, sa_exc.DBAPIError):
            current = current.orig
        else:
            current = current.__cause__ or current.__context__
    return False


def split_connections(total: int) -> tuple[int, int]:
    """`DB_MAX_CONNECTIONS` as (asyncpg read pool, SQLAlchemy engine): half each, at least 1."""
    reads = max(1, total // 2)
    return reads, max(1, total - reads)


class Gate:
    """First-come-first-served admission to a pool, bounded by the wait.

    Both pools hand out connections through an `asyncio.Queue`, where a newcomer can take a
    connection ahead of the waiter it was returned for (the waiter goes back to the end):
    under a burst of 2,000 stream opens some requests waited past 120 s. A semaphore is
    fair (newcomers queue behind waiters) and costs ~1 us per acquire.
    """

    __slots__ = ("_semaphore", "_wait")

    def __init__(self, size: int, wait: float) -> None:
        self._semaphore = asyncio.Semaphore(size)
        self._wait = wait

    async def enter(self) -> None:
        """Wait for a turn (TimeoutError past the wait: an outage, 503)."""
        async with asyncio.timeout(self._wait):
            await self._semaphore.acquire()

    def leave(self) -> None:
        self._semaphore.release()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        await self.enter()
        try:
            yield
        finally:
            self.leave()
