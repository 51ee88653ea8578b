"""Recording job outcomes in batches: one short transaction for many finished jobs.

A job that finished hands its outcome to the recorder and waits; within `window` seconds
the recorder writes every outcome handed in meanwhile in one transaction: it checks
which leases are still ours, marks those provisioned workspaces `active` (with their
events), then ends those jobs. Under load this turns several transactions per bucket
into a fraction of one, which keeps the worker's share of the event loop small.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from mechamental.buckets import jobs, leases, state
from mechamental.buckets.gauge import LoopGauge
from mechamental.buckets.leases import Job
from mechamental.buckets.models import BucketStatus
from mechamental.db import Database


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job ended (status, note, outcome) as it is to be recorded."""

    job: Job
    status: str
    error: str | None
    outcome: str | None


class Recorder:
    """Collects outcomes and writes them together."""

    def __init__(self, db: Database, *, window: float, gauge: LoopGauge, max_defer: float) -> None:
        self.db = db
        self.window = window
        self.gauge = gauge
        self.max_defer = max_defer
        self._pending: list[tuple[Outcome, asyncio.Future[bool]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, outcome: Outcome) -> bool:
        """Record `outcome`; False if the job's lease was no longer ours (nothing written)."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((outcome, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_soon(), name="bucket-recorder")
        return await asyncio.shield(future)

    async def drain(self) -> None:
        """Wait until everything handed in so far is written."""
        while self._flusher is not None:
            with contextlib.suppress(Exception):
                await self._flusher

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.window)
        await self.gauge.quiet(max_defer=self.max_defer)
        batch, self._pending = self._pending, []
        self._flusher = None
        try:
            ours = await self._write([outcome for outcome, _ in batch])
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for outcome, future in batch:
            if not future.done():
                future.set_result(outcome.job.id in ours)

    async def _write(self, batch: list[Outcome]) -> set[str]:
        with self.gauge.own_work():
            return await self._write_now(batch)

    async def _write_now(self, batch: list[Outcome]) -> set[str]:
        async with self.db.transaction() as conn:
            ours = await leases.held(conn, jobs=[o.job for o in batch])
            mine = [o for o in batch if o.job.id in ours]
            # Workspace rows first, then job rows: the order workspace deletes lock in.
            provisioned = [
                o.job.workspace_id
                for o in mine
                if o.job.action == jobs.PROVISION and o.status == jobs.DONE
            ]
            await state.change_bucket_status(
                conn, workspace_ids=provisioned, status=BucketStatus.ACTIVE
            )
            await leases.finish_many(
                conn, ends=[(o.job, o.status, o.error, o.outcome) for o in mine]
            )
        return ours
