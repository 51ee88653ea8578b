"""Enqueueing bucket work in the caller's transaction, so it is never lost."""

from __future__ import annotations

from sqlalchemy import insert, update

from mechamental.buckets.models import bucket_jobs
from mechamental.db import Conn
from mechamental.ids import new_id
from mechamental.types import utcnow


def bucket_name(prefix: str, workspace_id: str) -> str:
    """The workspace's bucket: unique by construction, 3-63 chars, lowercase, no dots."""
    return f"{prefix}-{workspace_id.replace('-', '')}"


async def enqueue(
    conn: Conn, *, action: str, org_id: str, workspace_id: str, bucket: str, region: str
) -> None:
    """Queue `action` (provision | delete) for a workspace's bucket."""
    now = utcnow()
    if action == "delete":
        # A provision still waiting is moot once the workspace is gone.
        await conn.execute(
            update(bucket_jobs)
            .where(
                bucket_jobs.c.workspace_id == workspace_id,
                bucket_jobs.c.action == "provision",
                bucket_jobs.c.status == "queued",
            )
            .values(status="cancelled", updated_at=now)
        )
    await conn.execute(
        insert(bucket_jobs).values(
            id=new_id(),
            org_id=org_id,
            workspace_id=workspace_id,
            bucket_name=bucket,
            region=region,
            action=action,
            status="queued",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
    )
