"""Bounded tables: one loop deletes, in small batches, the rows the service no longer needs.

Every table that grows with traffic (rather than with what tenants keep) has its rule here,
each rule owned by its domain's module:

- `events`: published, matched with webhooks, older than `EVENT_RETENTION_SECONDS` and
  beyond the last `EVENT_RETENTION_COUNT` of its workspace, or its workspace is gone
  (`sync.events.log.prune`);
- `presence_members`: absent for a day, or the workspace is gone (`sync.presence.ledger`);
- `idempotency_keys`: older than `IDEMPOTENCY_TTL_SECONDS` (`workspaces.idempotency`);
- `bucket_jobs`: finished (not failed) `FINISHED_RETENTION_SECONDS` ago (`buckets.jobs`);
- `webhook_deliveries` with their `webhook_attempts`: finished `FINISHED_RETENTION_SECONDS`
  ago (`webhooks.deliveries`).

Each batch is its own short transaction of at most `RETENTION_BATCH` rows (SQLite's write
lock and PostgreSQL's row locks are held only that long); the loop yields between batches
and goes on until a batch comes back short. Any number of processes may run it: a delete of
a row another process deleted first deletes nothing. Time is `Services.clock`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from mechamental.buckets import jobs
from mechamental.clock import Clock
from mechamental.db import Conn, Database
from mechamental.services import Component, PeriodicComponent, Services
from mechamental.sync.events import log as eventlog
from mechamental.sync.presence import ledger
from mechamental.webhooks import deliveries
from mechamental.workspaces import idempotency

log = logging.getLogger("mechamental.retention")
EXTRAS_KEY = "retention"
RETENTION_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Purge:
    """One table's rule: delete up to `batch` rows that are due at `now`; how many."""

    table: str
    run: Callable[[Conn, datetime, int], Awaitable[int]]


def purges(services: Services) -> list[Purge]:
    """Every table's rule, with this deployment's settings."""
    s = services.settings
    finished = timedelta(seconds=s.finished_retention_seconds)
    ttl = timedelta(seconds=s.idempotency_ttl_seconds)
    return [
        Purge(
            "events",
            lambda conn, now, batch: eventlog.prune(
                conn,
                now=now,
                keep_count=s.event_retention_count,
                keep_seconds=s.event_retention_seconds,
                batch=batch,
            ),
        ),
        Purge(
            "presence_members",
            lambda conn, now, batch: ledger.forget_absent(conn, now=now, batch=batch),
        ),
        Purge(
            "idempotency_keys",
            lambda conn, now, batch: idempotency.purge_expired(conn, now=now, ttl=ttl, batch=batch),
        ),
        Purge(
            "bucket_jobs",
            lambda conn, now, batch: jobs.purge_finished(conn, before=now - finished, batch=batch),
        ),
        Purge(
            "webhook_deliveries",
            lambda conn, now, batch: deliveries.purge_finished(
                conn, before=now - finished, batch=batch
            ),
        ),
        Purge(
            "webhook_deliveries",  # of deleted endpoints
            lambda conn, now, batch: deliveries.purge_orphaned(conn, now=now, batch=batch),
        ),
    ]


class Retention(PeriodicComponent):
    """Applies every rule each `RETENTION_INTERVAL_SECONDS`."""

    name = "retention"

    def __init__(
        self,
        *,
        db: Database,
        clock: Clock,
        interval: float,
        rules: list[Purge],
        batch: int = RETENTION_BATCH,
    ) -> None:
        super().__init__(interval)
        self.db = db
        self.clock = clock
        self.rules = rules
        self.batch = batch

    async def tick(self) -> None:
        """One pass over every table."""
        removed = await self.run_once()
        if any(removed.values()):
            log.info(
                "retention removed rows",
                extra={"removed": {t: n for t, n in removed.items() if n}},
            )

    async def run_once(self) -> dict[str, int]:
        """Apply every rule now, batch by batch; rows removed per table."""
        now = self.clock.utcnow()
        removed: dict[str, int] = {}
        for rule in self.rules:
            total = 0
            while True:
                async with self.db.transaction() as conn:
                    count = await rule.run(conn, now, self.batch)
                total += count
                if count < self.batch:
                    break
                await asyncio.sleep(0)  # let requests in between batches
            removed[rule.table] = removed.get(rule.table, 0) + total  # a table may have two
        return removed


def retention_factory(services: Services) -> Component:
    """The retention loop of this process (any number may run)."""
    component = Retention(
        db=services.db,
        clock=services.clock,
        interval=services.settings.retention_interval_seconds,
        rules=purges(services),
    )
    services.extras[EXTRAS_KEY] = component
    return component


def retention_of(services: Services) -> Retention:
    """The running process's retention loop."""
    component: Retention = services.extras[EXTRAS_KEY]
    return component
