"""Recording attempt outcomes in batches: one transaction for the attempts that ended together.

An attempt that ended hands its outcome to the recorder and waits; within `window` seconds
the recorder writes every outcome handed in meanwhile in one transaction: it ends each lease
still ours (pending again with its next time, or final), notes the attempt, and tells the
endpoint whether it answered. One transaction per attempt made every delivery a write
transaction of its own (three statements and a commit): on SQLite, where writers take
turns, that capped one process near 150 deliveries/s and made API writes queue behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from mechamental.db import Conn, Database
from mechamental.webhooks import deliveries, endpoints, sender
from mechamental.webhooks.deliveries import Claimed

log = logging.getLogger("mechamental.webhooks")


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one attempt ended: an answer (or network error), or `skipped` with why."""

    delivery: Claimed
    result: sender.Result | None
    skipped: str | None
    at: datetime


class OutcomeRecorder:
    """Collects outcomes and writes them together."""

    def __init__(self, db: Database, *, window: float) -> None:
        self.db = db
        self.window = window
        self._pending: list[tuple[Outcome, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, outcome: Outcome) -> None:
        """Write `outcome` with the others handed in within the window; raises if that failed
        (the lease then expires and the delivery is due again)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((outcome, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_soon(), name="webhook-outcomes")
        await asyncio.shield(future)

    async def drain(self) -> None:
        """Wait until everything handed in so far is written."""
        while self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.window)
        batch, self._pending = self._pending, []
        self._flusher = None
        try:
            async with self.db.transaction() as conn:
                disabled = [await _write(conn, outcome) for outcome, _ in batch]
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (outcome, future), reason in zip(batch, disabled, strict=True):
            if reason:
                log.warning(
                    "webhook endpoint disabled",
                    extra={"webhook_id": outcome.delivery.webhook_id, "reason": reason},
                )
            if not future.done():
                future.set_result(None)


async def _write(conn: Conn, outcome: Outcome) -> str | None:
    """Record one outcome; the reason if it disabled the endpoint."""
    delivery, result, now = outcome.delivery, outcome.result, outcome.at
    if result is None:
        await deliveries.finish(
            conn,
            delivery=delivery,
            status=deliveries.FAILED,
            due=None,
            error=outcome.skipped,
            now=now,
        )
        return None
    gone = result.status_code == 410
    due: datetime | None = None
    if result.ok:
        status = deliveries.SUCCEEDED
    elif gone or delivery.attempts >= deliveries.MAX_ATTEMPTS:
        status = deliveries.FAILED
    else:
        status = deliveries.PENDING
        due = now + timedelta(seconds=deliveries.RETRY_DELAYS[delivery.attempts - 1])
    if not await deliveries.finish(
        conn, delivery=delivery, status=status, due=due, error=result.error, now=now
    ):
        return None  # our lease was taken over: the new holder records its own attempt
    await deliveries.record_attempt(
        conn,
        delivery_id=delivery.id,
        at=now,
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        error=result.error,
    )
    if delivery.event_type == deliveries.TEST_EVENT:
        return None  # a test says nothing about the endpoint's health
    if result.ok:
        await endpoints.note_success(conn, webhook_id=delivery.webhook_id)
        return None
    return await endpoints.note_failure(conn, webhook_id=delivery.webhook_id, now=now, gone=gone)
