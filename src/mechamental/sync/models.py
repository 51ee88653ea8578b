"""The event log (and outbox) and the announced presence of each workspace."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    UniqueConstraint,
)

from mechamental.db import metadata
from mechamental.types import UTCDateTime

events = Table(
    "events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("org_id", String(64), nullable=False),
    Column("workspace_id", String(36), nullable=False),
    # Position in the workspace's total order, handed out under the workspace row lock.
    Column("seq", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("actor_id", String(200), nullable=True),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("data", JSON, nullable=False),
    Column("published", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("workspace_id", "seq"),
    Index("ix_events_unpublished", "published", "id"),
    # Retention: old rows are found by age.
    Index("ix_events_occurred_at", "occurred_at"),
)

# What the event log has announced about each member: the state streams have been told,
# changed only together with the presence event that announces the change. `version`
# orders concurrent reconciliations (a stale one never overwrites a newer state).
presence_members = Table(
    "presence_members",
    metadata,
    Column("workspace_id", String(36), nullable=False),
    Column("user_id", String(200), nullable=False),
    Column("org_id", String(64), nullable=False),
    Column("present", Boolean, nullable=False),
    Column("viewing_type", String(100), nullable=True),
    Column("viewing_id", String(200), nullable=True),
    Column("since", UTCDateTime, nullable=True),
    Column("version", BigInteger, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("workspace_id", "user_id"),
    Index("ix_presence_members_present", "present", "workspace_id"),
)
