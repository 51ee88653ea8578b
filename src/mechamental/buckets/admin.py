"""Operator views and actions: buckets that are not active, and retrying by hand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from mechamental.buckets import jobs, state
from mechamental.buckets.models import BucketStatus, bucket_jobs
from mechamental.db import Conn
from mechamental.tables import workspaces
from mechamental.types import utcnow

DELETE_FAILED = "delete_failed"  # a report's status: the bucket of a deleted workspace remains


@dataclass(frozen=True, slots=True)
class BucketReport:
    """One bucket that is not (or no longer) active, with its latest job."""

    workspace_id: str
    org_id: str
    bucket: str
    status: str  # a BucketStatus; DELETING or DELETE_FAILED once the workspace is gone
    error: str | None
    attempts: int
    next_attempt_at: datetime | None
    lease_owner: str | None


async def _latest_jobs(
    conn: Conn, workspace_ids: list[str], action: str
) -> dict[str, dict[str, Any]]:
    if not workspace_ids:
        return {}
    rows = (
        (
            await conn.execute(
                select(bucket_jobs)
                .where(
                    bucket_jobs.c.workspace_id.in_(workspace_ids), bucket_jobs.c.action == action
                )
                .order_by(bucket_jobs.c.created_at, bucket_jobs.c.id)
            )
        )
        .mappings()
        .all()
    )
    return {row["workspace_id"]: dict(row) for row in rows}  # the last one wins


async def not_active(conn: Conn) -> list[BucketReport]:
    """Workspaces whose bucket is not active, then removals of deleted workspaces' buckets."""
    found = (
        await conn.execute(
            select(
                workspaces.c.workspace_id,
                workspaces.c.org_id,
                workspaces.c.s3_bucket,
                workspaces.c.bucket_status,
                workspaces.c.bucket_error,
            )
            .where(workspaces.c.bucket_status != BucketStatus.ACTIVE)
            .order_by(workspaces.c.created_at, workspaces.c.workspace_id)
        )
    ).all()
    latest = await _latest_jobs(conn, [row.workspace_id for row in found], jobs.PROVISION)
    reports = []
    for row in found:
        job = latest.get(row.workspace_id, {})
        reports.append(
            BucketReport(
                workspace_id=row.workspace_id,
                org_id=row.org_id,
                bucket=row.s3_bucket,
                status=row.bucket_status,
                error=row.bucket_error or job.get("last_error"),
                attempts=job.get("attempts", 0),
                next_attempt_at=job.get("next_attempt_at"),
                lease_owner=job.get("lease_owner"),
            )
        )
    removals = (
        (
            await conn.execute(
                select(bucket_jobs)
                .where(
                    bucket_jobs.c.action == jobs.DELETE,
                    bucket_jobs.c.status.in_((*jobs.UNFINISHED, jobs.FAILED)),
                )
                .order_by(bucket_jobs.c.created_at, bucket_jobs.c.id)
            )
        )
        .mappings()
        .all()
    )
    for removal in removals:
        job = dict(removal)
        reports.append(
            BucketReport(
                workspace_id=job["workspace_id"],
                org_id=job["org_id"],
                bucket=job["bucket_name"],
                status=DELETE_FAILED if job["status"] == jobs.FAILED else BucketStatus.DELETING,
                error=job["last_error"],
                attempts=job["attempts"],
                next_attempt_at=job["next_attempt_at"],
                lease_owner=job["lease_owner"],
            )
        )
    return reports


async def _requeue(conn: Conn, job_id: str) -> None:
    await conn.execute(
        update(bucket_jobs)
        .where(bucket_jobs.c.id == job_id)
        .values(
            status=jobs.QUEUED,
            attempts=0,
            next_attempt_at=utcnow(),
            lease_owner=None,
            lease_expires_at=None,
            updated_at=utcnow(),
        )
    )
    conn.notify(jobs.JOB_QUEUED, None)


async def retry(conn: Conn, *, workspace_id: str) -> str:
    """Run a workspace's bucket work again now, with fresh attempts; says what it did.

    Raises LookupError if there is neither such a workspace nor a bucket job for it.
    """
    ws = (
        await conn.execute(
            select(
                workspaces.c.org_id,
                workspaces.c.s3_bucket,
                workspaces.c.region,
                workspaces.c.bucket_status,
            )
            .where(workspaces.c.workspace_id == workspace_id)
            .with_for_update()
        )
    ).first()
    if ws is None:
        latest = (await _latest_jobs(conn, [workspace_id], jobs.DELETE)).get(workspace_id)
        if latest is None:
            raise LookupError(f"no workspace or bucket job {workspace_id}")
        if latest["status"] in (jobs.QUEUED, jobs.FAILED):
            await _requeue(conn, latest["id"])
            return f"bucket removal of {latest['bucket_name']} queued again"
        return f"bucket removal of {latest['bucket_name']} is already {latest['status']}"
    latest = (await _latest_jobs(conn, [workspace_id], jobs.PROVISION)).get(workspace_id)
    if latest is not None and latest["status"] == jobs.RUNNING:
        return f"bucket {ws.s3_bucket} is being provisioned right now"
    if latest is not None and latest["status"] == jobs.QUEUED:
        await _requeue(conn, latest["id"])
        return f"bucket {ws.s3_bucket}: provisioning queued again with fresh attempts"
    if ws.bucket_status == BucketStatus.ACTIVE:
        return f"bucket {ws.s3_bucket} is already active"
    await state.set_bucket_status(conn, workspace_id=workspace_id, status=BucketStatus.PENDING)
    await jobs.enqueue(
        conn,
        action=jobs.PROVISION,
        org_id=ws.org_id,
        workspace_id=workspace_id,
        bucket=ws.s3_bucket,
        region=ws.region,
    )
    return f"bucket {ws.s3_bucket}: provisioning queued"
