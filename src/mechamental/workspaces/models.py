"""Tables for workspaces, their tags and idempotent creates."""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

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
    Column("bucket_status", String(16), nullable=False),
    Column("bucket_error", Text, nullable=True),
    # Bumped on every change of the representation; the ETag is derived from it.
    Column("version", Integer, nullable=False),
    # Last per-workspace event sequence number handed out (see sync.outbox).
    Column("event_seq", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The list query: one org, newest first, id as tie-breaker.
    Index("ix_workspaces_org_created", "org_id", "created_at", "workspace_id"),
)

workspace_tags = Table(
    "workspace_tags",
    metadata,
    Column(
        "workspace_id",
        String(36),
        ForeignKey("workspaces.workspace_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("org_id", String(64), nullable=False),
    Column("tag", String(64), nullable=False),
    PrimaryKeyConstraint("workspace_id", "tag"),
    Index("ix_workspace_tags_org_tag", "org_id", "tag", "workspace_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("org_id", String(64), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("key", String(255), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response_body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("org_id", "user_id", "key"),
    Index("ix_idempotency_keys_created_at", "created_at"),
)
