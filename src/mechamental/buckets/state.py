"""A workspace's `bucket_status`: every change bumps its version and records an event."""

from __future__ import annotations

from sqlalchemy import select, update

from mechamental.db import Conn
from mechamental.sync.outbox import next_seq, record_event
from mechamental.types import utcnow
from mechamental.workspaces.models import workspaces

EVENT_TYPE = "workspace.bucket_status_changed"
PENDING = "pending"
PROVISIONING = "provisioning"
ACTIVE = "active"
FAILED = "failed"


async def set_bucket_status(
    conn: Conn, *, workspace_id: str, status: str, error: str | None = None
) -> bool:
    """Move the workspace's bucket to `status`; False if the workspace is gone.

    In the caller's transaction: the row is locked, and if anything changes the version
    (hence the ETag) and `updated_at` move, and a `workspace.bucket_status_changed`
    event is recorded with the next sequence number. No change, no event.
    """
    current = (
        await conn.execute(
            select(
                workspaces.c.org_id,
                workspaces.c.s3_bucket,
                workspaces.c.bucket_status,
                workspaces.c.bucket_error,
            )
            .where(workspaces.c.workspace_id == workspace_id)
            .with_for_update()
        )
    ).first()
    if current is None:
        return False
    if current.bucket_status == status and current.bucket_error == error:
        return True
    seq = await next_seq(conn, workspace_id=workspace_id)
    if seq is None:  # pragma: no cover - the row is locked above
        return False
    await conn.execute(
        update(workspaces)
        .where(workspaces.c.workspace_id == workspace_id)
        .values(
            bucket_status=status,
            bucket_error=error,
            version=workspaces.c.version + 1,
            updated_at=utcnow(),
        )
    )
    await record_event(
        conn,
        org_id=current.org_id,
        workspace_id=workspace_id,
        seq=seq,
        type=EVENT_TYPE,
        actor_id=None,
        data={"bucket_status": status, "bucket_error": error, "s3_bucket": current.s3_bucket},
    )
    return True
