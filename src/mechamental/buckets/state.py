"""A workspace's `bucket_status`: every change bumps its version and records an event.

The change is one UPDATE per batch of workspaces that also takes each workspace's next
event number (`BUMP_SEQ`, under the row lock), then one `workspace.bucket_status_changed`
event per changed workspace, in the same transaction. `updated_at` moves too: it is the
time of the last change to any field of the representation, like the ETag. A workspace
already in the target state (same error) is left alone: no version bump, no event.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, Text, bindparam, or_, select, update

from mechamental.buckets.models import BucketStatus
from mechamental.db import Conn
from mechamental.sync.events.frames import EventType
from mechamental.sync.events.outbox import record_event
from mechamental.sync.events.seq import BUMP_SEQ, TAKEN_SEQ
from mechamental.tables import workspaces
from mechamental.types import UTCDateTime, utcnow

_STATUS = bindparam("new_status", type_=String())
_ERROR = bindparam("new_error", type_=Text())
_CHANGE = (
    update(workspaces)
    .where(
        workspaces.c.workspace_id.in_(bindparam("ids", expanding=True)),
        or_(
            workspaces.c.bucket_status != _STATUS,
            workspaces.c.bucket_error.is_distinct_from(_ERROR),
        ),
    )
    .values(
        bucket_status=_STATUS,
        bucket_error=_ERROR,
        version=workspaces.c.version + 1,
        updated_at=bindparam("now", type_=UTCDateTime()),
        **BUMP_SEQ,
    )
    .returning(workspaces.c.workspace_id, workspaces.c.org_id, workspaces.c.s3_bucket, TAKEN_SEQ)
)
_EXISTING = select(workspaces.c.workspace_id).where(
    workspaces.c.workspace_id.in_(bindparam("ids", expanding=True))
)


async def change_bucket_status(
    conn: Conn, *, workspace_ids: Sequence[str], status: BucketStatus, error: str | None = None
) -> set[str]:
    """Move these workspaces' buckets to `status`; returns the ids that changed."""
    if not workspace_ids:
        return set()
    params = {
        "ids": sorted(workspace_ids),
        "new_status": status,
        "new_error": error,
        "now": utcnow(),
    }
    changed = (await conn.execute(_CHANGE, params)).all()
    for row in changed:
        await record_event(
            conn,
            org_id=row.org_id,
            workspace_id=row.workspace_id,
            seq=row.event_seq,
            type=EventType.WORKSPACE_BUCKET_STATUS_CHANGED,
            actor_id=None,
            data={"bucket_status": status, "bucket_error": error, "s3_bucket": row.s3_bucket},
        )
    return {row.workspace_id for row in changed}


async def existing(conn: Conn, *, workspace_ids: Sequence[str]) -> set[str]:
    """Which of these workspaces still exist."""
    if not workspace_ids:
        return set()
    return set((await conn.execute(_EXISTING, {"ids": list(workspace_ids)})).scalars().all())


async def set_bucket_status(
    conn: Conn, *, workspace_id: str, status: BucketStatus, error: str | None = None
) -> bool:
    """Move one workspace's bucket to `status`; False if the workspace is gone."""
    ids = [workspace_id]
    if await change_bucket_status(conn, workspace_ids=ids, status=status, error=error):
        return True
    return bool(await existing(conn, workspace_ids=ids))
