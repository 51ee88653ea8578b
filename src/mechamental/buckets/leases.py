"""Claiming, renewing and finishing bucket jobs under row leases.

A job is due when it is `queued` and its retry time has come, or `running` and its lease
has expired (its holder died): both are `next_attempt_at <= now`, since a claim sets
`next_attempt_at` to the lease expiry. A claim is one UPDATE over the due rows, chosen
with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite serialises writers with
`BEGIN IMMEDIATE`), that repeats the due conditions, so two claimers can never both win
a row; it stamps a `lease_owner` token unique to the claim. Every later write is
conditional on that token, so a holder whose lease was taken over changes nothing.
A delete job is not due while a provision of the same workspace is unfinished: that
provision either sees the workspace gone and makes nothing, or finishes first, so the
delete always runs after the bucket could last have been created.

Statements are built once, with bind parameters (AGENTS.md).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, Text, bindparam, exists, select, update
from sqlalchemy.engine import RowMapping

from mechamental.buckets import jobs
from mechamental.buckets.models import bucket_jobs
from mechamental.db import Conn
from mechamental.types import UTCDateTime, utcnow

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


_NOW = bindparam("now", type_=UTCDateTime())
_blocking = bucket_jobs.alias("blocking")
_DUE = (
    bucket_jobs.c.status.in_(jobs.UNFINISHED),
    bucket_jobs.c.next_attempt_at <= _NOW,
    (bucket_jobs.c.action != jobs.DELETE)
    | ~exists(
        select(_blocking.c.id).where(
            _blocking.c.workspace_id == bucket_jobs.c.workspace_id,
            _blocking.c.action == jobs.PROVISION,
            _blocking.c.status.in_(jobs.UNFINISHED),
        )
    ),
)
_ANY_DUE = select(bucket_jobs.c.id).where(*_DUE).limit(1)
_EXPIRES = bindparam("expires", type_=UTCDateTime())
_CLAIM = (
    update(bucket_jobs)
    .where(
        bucket_jobs.c.id.in_(
            select(bucket_jobs.c.id)
            .where(*_DUE)
            .order_by(bucket_jobs.c.next_attempt_at)
            .limit(bindparam("limit", type_=Integer()))
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        ),
        *_DUE,
    )
    .values(
        status=jobs.RUNNING,
        lease_owner=bindparam("token", type_=String()),
        lease_expires_at=_EXPIRES,
        next_attempt_at=_EXPIRES,
        attempts=bucket_jobs.c.attempts + 1,
        updated_at=_NOW,
    )
    .returning(*bucket_jobs.c)
)
_OURS = (
    bucket_jobs.c.id == bindparam("job_id"),
    bucket_jobs.c.lease_owner == bindparam("token"),
    bucket_jobs.c.status == jobs.RUNNING,
)
_RENEW = (
    update(bucket_jobs)
    .where(
        bucket_jobs.c.lease_owner.in_(bindparam("tokens", expanding=True)),
        bucket_jobs.c.status == jobs.RUNNING,
    )
    .values(lease_expires_at=_EXPIRES, next_attempt_at=_EXPIRES)
    .returning(bucket_jobs.c.id)
)
_HOLDS = select(bucket_jobs.c.id, bucket_jobs.c.lease_owner).where(
    bucket_jobs.c.id.in_(bindparam("ids", expanding=True)), bucket_jobs.c.status == jobs.RUNNING
)
_END = dict(
    status=bindparam("new_status", type_=String()),
    lease_owner=None,
    lease_expires_at=None,
    last_error=bindparam("error", type_=Text()),
    outcome=bindparam("new_outcome", type_=String()),
    updated_at=_NOW,
)
_FINISH = update(bucket_jobs).where(*_OURS).values(**_END).returning(bucket_jobs.c.id)
_FINISH_MANY = update(bucket_jobs).where(*_OURS).values(**_END)
_RESCHEDULE = (
    update(bucket_jobs)
    .where(*_OURS)
    .values(
        status=jobs.QUEUED,
        lease_owner=None,
        lease_expires_at=None,
        next_attempt_at=bindparam("due", type_=UTCDateTime()),
        last_error=bindparam("error", type_=Text()),
        updated_at=_NOW,
    )
    .returning(bucket_jobs.c.id)
)
_RELEASE = (
    update(bucket_jobs)
    .where(*_OURS)
    .values(
        status=jobs.QUEUED,
        lease_owner=None,
        lease_expires_at=None,
        next_attempt_at=_NOW,
        attempts=bucket_jobs.c.attempts - 1,
        updated_at=_NOW,
    )
)
_LAST_PROVISION = (
    select(bucket_jobs.c.outcome)
    .where(
        bucket_jobs.c.workspace_id == bindparam("workspace_id"),
        bucket_jobs.c.action == jobs.PROVISION,
        bucket_jobs.c.status.in_((jobs.DONE, jobs.FAILED)),
    )
    .order_by(bucket_jobs.c.created_at.desc(), bucket_jobs.c.id.desc())
    .limit(1)
)


def _error(error: str | None) -> str | None:
    return error[:ERROR_LIMIT] if error else None


async def any_due(conn: Conn, *, now: datetime | None = None) -> bool:
    """Whether some job is due (a cheap read before taking a write transaction)."""
    return (await conn.execute(_ANY_DUE, {"now": now or utcnow()})).first() is not None


async def claim(conn: Conn, *, token: str, limit: int, lease_seconds: float) -> list[Job]:
    """Lease up to `limit` due jobs to `token`; each claim counts as an attempt."""
    now = utcnow()
    params = {
        "now": now,
        "expires": now + timedelta(seconds=lease_seconds),
        "token": token,
        "limit": limit,
    }
    result = await conn.execute(_CLAIM, params)
    return [Job.from_row(row) for row in result.mappings().all()]


async def renew(conn: Conn, *, tokens: list[str], lease_seconds: float) -> set[str]:
    """Extend the leases held under `tokens`; returns the ids of the jobs still ours."""
    if not tokens:
        return set()
    expires = utcnow() + timedelta(seconds=lease_seconds)
    result = await conn.execute(_RENEW, {"tokens": tokens, "expires": expires})
    return set(result.scalars().all())


async def held(conn: Conn, *, jobs: Sequence[Job]) -> set[str]:
    """The ids of `jobs` whose lease is still ours."""
    if not jobs:
        return set()
    rows = (await conn.execute(_HOLDS, {"ids": [job.id for job in jobs]})).all()
    tokens = {job.id: job.token for job in jobs}
    return {row.id for row in rows if row.lease_owner == tokens[row.id]}


async def holds(conn: Conn, *, job: Job) -> bool:
    """Whether `job` is still leased to us."""
    return job.id in await held(conn, jobs=[job])


def _end_params(job: Job, status: str, error: str | None, outcome: str | None) -> dict[str, object]:
    return {
        "job_id": job.id,
        "token": job.token,
        "new_status": status,
        "error": _error(error),
        "new_outcome": outcome,
        "now": utcnow(),
    }


async def finish(
    conn: Conn, *, job: Job, status: str, error: str | None = None, outcome: str | None = None
) -> bool:
    """End a job we hold with `status`; False (and no change) if our lease was lost."""
    result = await conn.execute(_FINISH, _end_params(job, status, error, outcome))
    return result.first() is not None


async def finish_many(
    conn: Conn, *, ends: Sequence[tuple[Job, str, str | None, str | None]]
) -> None:
    """End several jobs we hold: (job, status, error, outcome) each; lost leases are skipped."""
    if ends:
        await conn.execute(_FINISH_MANY, [_end_params(*end) for end in ends])


async def name_was_taken(conn: Conn, *, workspace_id: str) -> bool:
    """Whether the workspace's latest provision found its bucket name held by someone else."""
    latest = (await conn.execute(_LAST_PROVISION, {"workspace_id": workspace_id})).scalar()
    return latest == NAME_TAKEN


async def reschedule(conn: Conn, *, job: Job, delay: float, error: str | None) -> bool:
    """Put a job we hold back in the queue, due after `delay` seconds."""
    now = utcnow()
    params = {
        "job_id": job.id,
        "token": job.token,
        "now": now,
        "due": now + timedelta(seconds=delay),
        "error": _error(error),
    }
    return (await conn.execute(_RESCHEDULE, params)).first() is not None


async def release(conn: Conn, *, jobs: list[Job]) -> None:
    """Give back unfinished jobs at shutdown: due at once, the attempt not counted."""
    if jobs:
        now = utcnow()
        await conn.execute(
            _RELEASE, [{"job_id": job.id, "token": job.token, "now": now} for job in jobs]
        )
