"""The announced presence of each workspace: what its streams have been told."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
)

from mechamental.db import metadata
from mechamental.types import UTCDateTime

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
