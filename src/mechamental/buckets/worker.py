"""The bucket worker: runs due `bucket_jobs` under leases, in the API process or alone.

Each job is handled in short transactions around the object-store call, never across
it: (1) claim (lease), (2) check the workspace and mark it `provisioning`, (3) call the
provider with no transaction open, (4) record the outcome if we still hold the lease.
A background renewal keeps leases alive while calls run; a job whose lease was taken over
is abandoned (its provider call cancelled). On failure a job is retried with exponential
backoff and jitter until `BUCKET_MAX_ATTEMPTS`, then the workspace is `failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import secrets
import socket
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from mechamental import metrics
from mechamental.buckets import jobs, leases, state
from mechamental.buckets.gauge import LoopGauge
from mechamental.buckets.leases import Job
from mechamental.buckets.models import BucketStatus
from mechamental.buckets.providers import (
    BucketSpec,
    NameTaken,
    NotOurBucket,
    PermanentBucketError,
    Provider,
)
from mechamental.buckets.providers.factory import make_provider
from mechamental.buckets.recorder import Outcome, Recorder
from mechamental.config import Settings
from mechamental.db import Database
from mechamental.services import Component, Services

log = logging.getLogger("mechamental.buckets")
T = TypeVar("T")
DEFAULT_CONCURRENCY = 16
# Jobs that become due (or finish) within this window are claimed (or recorded) together.
BATCH_WINDOW = 0.02
# While requests keep the event loop busy, the worker waits this long at most per step.
MAX_DEFER = 5.0


class _LeaseLost(Exception):
    """Our lease on a job was taken over: roll back and leave the job to its new holder."""


@dataclass(eq=False)
class _Running:
    job: Job
    task: asyncio.Task[None] | None = None
    in_call: bool = False


def describe(exc: BaseException) -> str:
    """A one-line account of a provider failure, fit for `bucket_error` and logs."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return f"{err.get('Code', 'Error')}: {err.get('Message', '')}".strip()
    if isinstance(exc, PermanentBucketError | BotoCoreError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def worker_id() -> str:
    """An id for this worker process, shown in `lease_owner` (host:pid:random)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"


class BucketWorker(Component):
    """Polls for due bucket jobs and runs up to `concurrency` of them at once."""

    name = "bucket worker"

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        provider: Provider | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.db = db
        self.settings = settings
        self.provider = provider
        self.concurrency = concurrency
        self.id = worker_id()
        self._claims = itertools.count(1)
        self._running: dict[str, _Running] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._gauge = LoopGauge(in_use=db.connections_in_use)
        self._recorder = Recorder(db, window=BATCH_WINDOW, gauge=self._gauge, max_defer=MAX_DEFER)

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Begin polling (and listen for jobs queued by this process)."""
        if self.provider is None:
            self.provider = make_provider(self.settings)
        self.db.listeners.add(jobs.JOB_QUEUED, self.wake)
        self._gauge.start()
        self._task = asyncio.create_task(self._loop(), name="bucket-worker")
        log.info("bucket worker started", extra={"worker": self.id})

    def wake(self, _: None = None) -> None:
        """Look for due jobs now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Let running jobs finish within the grace period, give the rest back, close."""
        self.db.listeners.remove(jobs.JOB_QUEUED, self.wake)
        self._stopping = True
        self._wake.set()
        await self._gauge.stop()  # no more deferring
        if self._task is not None:
            await self._task
        tasks = [r.task for r in self._running.values() if r.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=self.settings.shutdown_grace_seconds)
        leftovers = list(self._running.values())
        for run in leftovers:
            if run.task is not None:
                run.task.cancel()
        await asyncio.gather(*(r.task for r in leftovers if r.task), return_exceptions=True)
        await self._recorder.drain()
        if leftovers:
            with contextlib.suppress(Exception):
                async with self.db.transaction() as conn:
                    await leases.release(conn, jobs=[r.job for r in leftovers])
        if self.provider is not None:
            await self.provider.close()
        log.info("bucket worker stopped", extra={"worker": self.id})

    # -- polling ---------------------------------------------------------------------

    async def _loop(self) -> None:
        renewer = asyncio.create_task(self._renew_loop(), name="bucket-lease-renewal")
        try:
            while not self._stopping:
                self._wake.clear()
                free = self.concurrency - len(self._running)
                got = 0
                if free > 0:
                    await self._gauge.quiet(max_defer=MAX_DEFER)  # requests first
                    with self._gauge.own_work():
                        got = await self._claim(free)
                if got and got == free:
                    continue  # there may be more due right away
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.bucket_poll_seconds)
                if self._wake.is_set() and not self._stopping:
                    await asyncio.sleep(BATCH_WINDOW)  # let a burst of new jobs gather
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew_loop(self) -> None:
        # Never deferred: a lease that lapses while its job runs lets another worker in.
        every = max(0.05, self.settings.bucket_lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            await self._renew()

    async def _claim(self, limit: int) -> int:
        try:
            async with self.db.reader() as conn:
                if not await leases.any_due(conn):
                    return 0
            token = f"{self.id}:{next(self._claims)}"
            async with self.db.transaction() as conn:
                claimed = await leases.claim(
                    conn, token=token, limit=limit, lease_seconds=self.settings.bucket_lease_seconds
                )
            claimed = await self._start_provisioning(claimed)
        except Exception:
            # Whatever was leased is run again once the lease expires.
            log.exception("claiming bucket jobs failed", extra={"worker": self.id})
            return 0
        for job in claimed:
            run = _Running(job)
            self._running[job.id] = run
            run.task = asyncio.create_task(self._execute(run), name=f"bucket-job-{job.id}")
        return len(claimed)

    async def _start_provisioning(self, claimed: list[Job]) -> list[Job]:
        """Mark the claimed provisions' workspaces `provisioning`; drop those deleted."""
        provisions = [job for job in claimed if job.action == jobs.PROVISION]
        if not provisions:
            return claimed
        ids = [job.workspace_id for job in provisions]
        async with self.db.transaction() as conn:
            alive = await state.change_bucket_status(
                conn, workspace_ids=ids, status=BucketStatus.PROVISIONING
            )
            alive |= await state.existing(conn, workspace_ids=[i for i in ids if i not in alive])
            gone = [job for job in provisions if job.workspace_id not in alive]
            # Deleted before we made anything: nothing to make, nothing to clean up.
            await leases.finish_many(
                conn,
                ends=[(job, jobs.CANCELLED, "workspace deleted", "workspace_gone") for job in gone],
            )
        dropped = {job.id for job in gone}
        return [job for job in claimed if job.id not in dropped]

    async def _renew(self) -> None:
        if not self._running:
            return
        asked = dict(self._running)  # jobs claimed meanwhile are not in question
        tokens = sorted({r.job.token for r in asked.values()})
        try:
            async with self.db.transaction() as conn:
                ours = await leases.renew(
                    conn, tokens=tokens, lease_seconds=self.settings.bucket_lease_seconds
                )
        except Exception:
            log.exception("renewing bucket job leases failed", extra={"worker": self.id})
            return
        for job_id, run in asked.items():
            if job_id not in ours and run.in_call and run.task is not None:
                log.warning("bucket job lease lost; abandoning it", extra={"job_id": job_id})
                run.task.cancel()

    # -- one job ---------------------------------------------------------------------

    async def _execute(self, run: _Running) -> None:
        job = run.job
        extra = {
            "job_id": job.id,
            "workspace_id": job.workspace_id,
            "action": job.action,
            "attempt": job.attempts,
            "worker": self.id,
        }
        log.debug("bucket job started", extra=extra)
        try:
            if job.action == jobs.PROVISION:
                await self._provision(run)
            elif job.action == jobs.DELETE:
                await self._delete(run)
            else:
                await self._fail(job, f"unknown action {job.action!r}", permanent=True)
        except asyncio.CancelledError:
            if self._stopping:
                raise
            log.warning("bucket job abandoned", extra=extra)
        except _LeaseLost:
            log.warning("bucket job lease lost before its outcome was recorded", extra=extra)
        except Exception:
            # The database failed us; the lease expires and the job runs again.
            log.exception("bucket job crashed", extra=extra)
        finally:
            self._running.pop(job.id, None)
            self._wake.set()

    async def _call(self, run: _Running, work: Awaitable[T]) -> T:
        run.in_call = True
        try:
            return await work
        finally:
            run.in_call = False

    async def _end(self, job: Job, status: str, error: str | None, outcome: str | None) -> None:
        if not await self._recorder.record(Outcome(job, status, error, outcome)):
            raise _LeaseLost()

    async def _provision(self, run: _Running) -> None:
        job = run.job
        assert self.provider is not None
        spec = BucketSpec(
            name=job.bucket_name,
            region=job.region,
            org_id=job.org_id,
            workspace_id=job.workspace_id,
        )
        try:
            made = await self._call(run, self.provider.ensure_bucket(spec))
        except NameTaken as exc:
            await self._fail(job, describe(exc), permanent=True, outcome=leases.NAME_TAKEN)
            return
        except PermanentBucketError as exc:
            await self._fail(job, describe(exc), permanent=True)
            return
        except Exception as exc:
            await self._fail(job, describe(exc), permanent=False)
            return
        await self._end(job, jobs.DONE, None, made)

    async def _delete(self, run: _Running) -> None:
        job = run.job
        assert self.provider is not None
        status, outcome, note = jobs.DONE, "removed", None
        async with self.db.reader() as conn:
            never_ours = await leases.name_was_taken(conn, workspace_id=job.workspace_id)
        if self.settings.bucket_delete_policy == "retain":
            status, outcome = jobs.RETAINED, "retained"
        elif never_ours:
            outcome, note = "not_ours", f"bucket name {job.bucket_name} was never ours; left alone"
        else:
            try:
                outcome = await self._call(
                    run,
                    self.provider.delete_bucket(
                        name=job.bucket_name, region=job.region, workspace_id=job.workspace_id
                    ),
                )
            except NotOurBucket as exc:
                outcome, note = "not_ours", describe(exc)
            except PermanentBucketError as exc:
                await self._fail(job, describe(exc), permanent=True)
                return
            except Exception as exc:
                await self._fail(job, describe(exc), permanent=False)
                return
        await self._end(job, status, note, outcome)
        log.info(
            "bucket job done",
            extra={
                "job_id": job.id,
                "bucket": job.bucket_name,
                "action": job.action,
                "outcome": outcome,
            },
        )

    async def _fail(
        self, job: Job, error: str, *, permanent: bool, outcome: str | None = None
    ) -> None:
        metrics.bucket_job_failed()
        final = permanent or job.attempts >= self.settings.bucket_max_attempts
        async with self.db.transaction() as conn:
            if not await leases.holds(conn, job=job):
                raise _LeaseLost()
            if final:
                if job.action == jobs.PROVISION:
                    await state.set_bucket_status(
                        conn, workspace_id=job.workspace_id, status=BucketStatus.FAILED, error=error
                    )
                await leases.finish(conn, job=job, status=jobs.FAILED, error=error, outcome=outcome)
            else:
                delay = leases.backoff(
                    attempts=job.attempts,
                    base=self.settings.bucket_backoff_base_seconds,
                    cap=self.settings.bucket_backoff_max_seconds,
                )
                await leases.reschedule(conn, job=job, delay=delay, error=error)
        level = logging.ERROR if final else logging.WARNING
        log.log(
            level,
            "bucket job failed",
            extra={
                "job_id": job.id,
                "workspace_id": job.workspace_id,
                "action": job.action,
                "attempt": job.attempts,
                "final": final,
                "error": error,
            },
        )


def bucket_worker_factory(services: Services) -> Component | None:
    """The bucket worker of an API process, unless `RUN_WORKER` is off."""
    if not services.settings.run_worker:
        return None
    worker = BucketWorker(db=services.db, settings=services.settings)
    services.extras["bucket_worker"] = worker
    return worker
