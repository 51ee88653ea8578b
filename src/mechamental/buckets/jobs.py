"""Enqueueing bucket work in the caller's transaction, so it is never lost."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete, insert, select, update

from mechamental.buckets.models import bucket_jobs
from mechamental.db import Conn, Topic
from mechamental.ids import new_id
from mechamental.types import utcnow

PROVISION = "provision"
DELETE = "delete"

QUEUED = "queued"  # waiting for next_attempt_at
RUNNING = "running"  # leased: lease_owner holds it until lease_expires_at (== next_attempt_at)
DONE = "done"
RETAINED = "retained"  # a delete that kept the bucket (BUCKET_DELETE_POLICY=retain)
FAILED = "failed"
CANCELLED = "cancelled"
UNFINISHED = (QUEUED, RUNNING)

# Told after commit that this process queued bucket work (the in-process worker wakes up).
JOB_QUEUED: Topic[None] = Topic("bucket job queued")


def bucket_name(prefix: str, workspace_id: str) -> str:
    """The workspace's bucket: unique by construction, 3-63 chars, lowercase, no dots."""
    return f"{prefix}-{workspace_id.replace('-', '')}"


async def enqueue(
    conn: Conn, *, action: str, org_id: str, workspace_id: str, bucket: str, region: str
) -> str:
    """Queue `action` (provision | delete) for a workspace's bucket; returns the job id."""
    now = utcnow()
    if action == DELETE:
        # A provision still waiting is moot once the workspace is gone. One that is
        # running cannot be stopped: the delete job waits for it (see buckets.leases).
        await conn.execute(
            update(bucket_jobs)
            .where(
                bucket_jobs.c.workspace_id == workspace_id,
                bucket_jobs.c.action == PROVISION,
                bucket_jobs.c.status == QUEUED,
            )
            .values(status=CANCELLED, updated_at=now, last_error="workspace deleted")
        )
    job_id = new_id()
    await conn.execute(
        insert(bucket_jobs).values(
            id=job_id,
            org_id=org_id,
            workspace_id=workspace_id,
            bucket_name=bucket,
            region=region,
            action=action,
            status=QUEUED,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    conn.notify(JOB_QUEUED, None)
    return job_id


# Finished jobs are history once their time is up; a failed one stays (operators retry it,
# and `buckets.admin` reports it), and there is at most one per workspace and action.
PURGED = (DONE, RETAINED, CANCELLED)
_PURGE = delete(bucket_jobs).where(
    bucket_jobs.c.id.in_(
        select(bucket_jobs.c.id)
        .where(bucket_jobs.c.status.in_(PURGED), bucket_jobs.c.updated_at < bindparam("cutoff"))
        .limit(bindparam("batch"))
    )
)


async def purge_finished(conn: Conn, *, before: datetime, batch: int) -> int:
    """Delete up to `batch` jobs that finished (not failed) before `before`; how many."""
    return int((await conn.execute(_PURGE, {"cutoff": before, "batch": batch})).rowcount)
