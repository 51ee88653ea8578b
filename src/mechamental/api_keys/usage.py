"""Writes the API key uses gathered in memory (`auth.usage.KeyUsage`) to `last_used_at`.

Authentication must not write per request (it is on the hot read path, and on SQLite a
write takes the file's lock), so each process batches: one UPDATE every
`API_KEY_USAGE_FLUSH_SECONDS` for all keys used since, and a last one on shutdown.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from mechamental.auth import tokens
from mechamental.auth.usage import KeyUsage
from mechamental.db import Database
from mechamental.services import Component, PeriodicComponent, Services
from mechamental.types import utcnow

log = logging.getLogger("mechamental.api_keys.usage")


class KeyUsageFlusher(PeriodicComponent):
    """Flushes `KeyUsage` every `interval` seconds; uses a failed flush held are kept for the
    next one (a database outage loses nothing but precision)."""

    name = "api key usage flush"

    def __init__(self, db: Database, usage: KeyUsage, interval: float) -> None:
        super().__init__(interval)
        self.db = db
        self.usage = usage

    async def tick(self) -> None:
        """One flush."""
        await self.flush()

    async def stop(self) -> None:
        """Stop the rounds, then write what is left."""
        await super().stop()
        try:
            await self.flush()
        except Exception as exc:  # shutting down with the database away: nothing to retry
            log.warning("final api key usage flush failed: %s", exc)

    async def flush(self) -> int:
        """Write every use noted so far in one batched UPDATE; how many keys it covered."""
        uses = self.usage.take()
        if not uses:
            return 0
        try:
            async with self.db.transaction() as conn:
                await tokens.record_uses(
                    conn, uses, now=utcnow(), min_interval=timedelta(seconds=self.interval)
                )
        except BaseException:
            self.usage.restore(uses)
            raise
        return len(uses)


def key_usage_flusher_factory(services: Services) -> Component | None:
    """This process's usage flusher."""
    return KeyUsageFlusher(
        services.db, services.key_usage, services.settings.api_key_usage_flush_seconds
    )
