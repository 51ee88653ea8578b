"""The workspace row: one table that three domains write, so it sits below all of them.

Its fields belong to `workspaces` (the representation), `buckets` (`bucket_status`,
`bucket_error`) and `sync.events` (`event_seq`, the workspace's event order). Declared here,
not in `workspaces.models`, so that `buckets` and `sync` need not import the `workspaces`
package, which imports them (the import graph stays acyclic: tests/test_imports.py).
"""

from sqlalchemy import JSON, Boolean, Column, Index, Integer, String, Table, Text

from mechamental.db import metadata
from mechamental.types import UTCDateTime

workspaces = Table(
    "workspaces",
    metadata,
    Column("workspace_id", String(36), primary_key=True),
    Column("org_id", String(64), nullable=False),
    Column("name", String(100), nullable=False),
    Column("description", Text, nullable=True),
    Column("owner_id", String(200), nullable=False),
    Column("subscription_plan_id", String(100), nullable=True),
    Column("is_active", Boolean, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("region", String(32), nullable=False),
    Column("s3_bucket", String(63), nullable=False, unique=True),
    Column("bucket_status", String(16), nullable=False),  # a buckets.models.BucketStatus
    Column("bucket_error", Text, nullable=True),
    # Bumped on every change of the representation; the ETag is derived from it.
    Column("version", Integer, nullable=False),
    # The last event number handed out in this workspace (owned by sync.events.seq).
    Column("event_seq", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The list query: one org, newest first, id as tie-breaker.
    Index("ix_workspaces_org_created", "org_id", "created_at", "workspace_id"),
)
