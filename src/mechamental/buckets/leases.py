"""Claiming, renewing and finishing bucket jobs under row leases.

A job is due when it is `queued` and its retry time has come, or `running` and its lease
has expired (its holder died): both are `next_attempt_at <= now`, since a claim sets
`next_attempt_at` to the lease expiry. A claim is one UPDATE over the due rows, chosen
with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises writers with
`BEGIN IMMEDIATE`); it stamps a `lease_owner` token unique to the claim. Every later
write is conditional on that token, so a holder whose lease was taken over changes
nothing. A delete job is not due while a provision of the same workspace is unfinished:
the provision either sees the workspace gone and makes nothing, or finishes first, so the
delete always runs after the bucket could last have been created.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.engine import RowMapping

from mechamental.buckets import jobs as j
from mechamental.buckets.models import bucket_jobs
from mechamental.db import Conn
from mechamental.types import utcnow

ERROR_LIMIT = 2000
NAME_TAKEN = "name_taken"


@dataclass(frozen=True, slots=True)
class Job:
    """A claimed job and the lease token that proves we hold it."""

    id: str
    org_id: str
    workspace_id: str
    bucket_name: str
    region: str
    action: str
    attempts: int
    token: str

    @classmethod
    def from_row(cls, row: RowMapping) -> Job:
        """A job from a claimed `bucket_jobs` row."""
        return cls(
            id=row["id"],
            org_id=row["org_id"],
            workspace_id=row["workspace_id"],
            bucket_name=row["bucket_name"],
            region=row["region"],
            action=row["action"],
            attempts=row["attempts"],
            token=row["lease_owner"],
        )


def backoff(*, attempts: int, base: float, cap: float) -> float:
    """Seconds to wait after `attempts` failures: exponential, capped, with jitter."""
    delay = min(cap, base * 2.0 ** max(0, attempts - 1))
    return delay * random.uniform(0.5, 1.0)


def _due(now: datetime) -> list[ColumnElement[bool]]:
    cand = bucket_jobs
    earlier = bucket_jobs.alias("blocking")
    provision_unfinished = exists(
        select(earlier.c.id).where(
            earlier.c.workspace_id == cand.c.workspace_id,
            earlier.c.action == j.PROVISION,
            earlier.c.status.in_(j.UNFINISHED),
        )
    )
    return [
        cand.c.status.in_(j.UNFINISHED),
        cand.c.next_attempt_at <= now,
        (cand.c.action != j.DELETE) | ~provision_unfinished,
    ]


async def any_due(conn: Conn, *, now: datetime | None = None) -> bool:
    """Whether some job is due (a cheap read before taking a write transaction)."""
    query = select(bucket_jobs.c.id).where(*_due(now or utcnow())).limit(1)
    return (await conn.execute(query)).first() is not None


async def claim(conn: Conn, *, token: str, limit: int, lease_seconds: float) -> list[Job]:
    """Lease up to `limit` due jobs to `token`; each claim counts as an attempt."""
    now = utcnow()
    expires = now + timedelta(seconds=lease_seconds)
    chosen = (
        select(bucket_jobs.c.id)
        .where(*_due(now))
        .order_by(bucket_jobs.c.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    result = await conn.execute(
        update(bucket_jobs)
        .where(bucket_jobs.c.id.in_(chosen.scalar_subquery()), *_due(now))
        .values(
            status=j.RUNNING,
            lease_owner=token,
            lease_expires_at=expires,
            next_attempt_at=expires,
            attempts=bucket_jobs.c.attempts + 1,
            updated_at=now,
        )
        .returning(*bucket_jobs.c)
    )
    return [Job.from_row(row) for row in result.mappings().all()]


async def renew(conn: Conn, *, tokens: list[str], lease_seconds: float) -> set[str]:
    """Extend the leases held under `tokens`; returns the ids of the jobs still ours."""
    if not tokens:
        return set()
    expires = utcnow() + timedelta(seconds=lease_seconds)
    result = await conn.execute(
        update(bucket_jobs)
        .where(bucket_jobs.c.lease_owner.in_(tokens), bucket_jobs.c.status == j.RUNNING)
        .values(lease_expires_at=expires, next_attempt_at=expires)
        .returning(bucket_jobs.c.id)
    )
    return set(result.scalars().all())


async def holds(conn: Conn, *, job: Job) -> bool:
    """Whether `job` is still leased to us."""
    query = select(bucket_jobs.c.id).where(
        bucket_jobs.c.id == job.id,
        bucket_jobs.c.lease_owner == job.token,
        bucket_jobs.c.status == j.RUNNING,
    )
    return (await conn.execute(query)).first() is not None


async def finish(
    conn: Conn, *, job: Job, status: str, error: str | None = None, outcome: str | None = None
) -> bool:
    """End a job we hold with `status`; False (and no change) if our lease was lost."""
    result = await conn.execute(
        update(bucket_jobs)
        .where(
            bucket_jobs.c.id == job.id,
            bucket_jobs.c.lease_owner == job.token,
            bucket_jobs.c.status == j.RUNNING,
        )
        .values(
            status=status,
            lease_owner=None,
            lease_expires_at=None,
            last_error=error[:ERROR_LIMIT] if error else None,
            outcome=outcome,
            updated_at=utcnow(),
        )
        .returning(bucket_jobs.c.id)
    )
    return result.first() is not None


async def name_was_taken(conn: Conn, *, workspace_id: str) -> bool:
    """Whether the workspace's latest provision found its bucket name held by someone else."""
    latest = (
        await conn.execute(
            select(bucket_jobs.c.outcome)
            .where(
                bucket_jobs.c.workspace_id == workspace_id,
                bucket_jobs.c.action == j.PROVISION,
                bucket_jobs.c.status.in_((j.DONE, j.FAILED)),
            )
            .order_by(bucket_jobs.c.created_at.desc(), bucket_jobs.c.id.desc())
            .limit(1)
        )
    ).scalar()
    return latest == NAME_TAKEN


async def reschedule(conn: Conn, *, job: Job, delay: float, error: str | None) -> bool:
    """Put a job we hold back in the queue, due after `delay` seconds."""
    now = utcnow()
    result = await conn.execute(
        update(bucket_jobs)
        .where(
            bucket_jobs.c.id == job.id,
            bucket_jobs.c.lease_owner == job.token,
            bucket_jobs.c.status == j.RUNNING,
        )
        .values(
            status=j.QUEUED,
            lease_owner=None,
            lease_expires_at=None,
            next_attempt_at=now + timedelta(seconds=delay),
            last_error=error[:ERROR_LIMIT] if error else None,
            updated_at=now,
        )
        .returning(bucket_jobs.c.id)
    )
    return result.first() is not None


async def release(conn: Conn, *, jobs: list[Job]) -> None:
    """Give back unfinished jobs at shutdown: due at once, the attempt not counted."""
    now = utcnow()
    for job in jobs:
        await conn.execute(
            update(bucket_jobs)
            .where(
                bucket_jobs.c.id == job.id,
                bucket_jobs.c.lease_owner == job.token,
                bucket_jobs.c.status == j.RUNNING,
            )
            .values(
                status=j.QUEUED,
                lease_owner=None,
                lease_expires_at=None,
                next_attempt_at=now,
                attempts=bucket_jobs.c.attempts - 1,
                updated_at=now,
            )
        )
