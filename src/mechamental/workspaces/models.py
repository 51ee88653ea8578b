"""Tables for workspace tags and idempotent creates (the workspace row is in `tables`)."""

from sqlalchemy import (
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
from mechamental.tables import workspaces
from mechamental.types import UTCDateTime

workspace_tags = Table(
    "workspace_tags",
    metadata,
    Column(
        "workspace_id",
        String(36),
        ForeignKey(workspaces.c.workspace_id, ondelete="CASCADE"),
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
