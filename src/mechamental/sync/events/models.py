"""The events table: outbox and per-workspace log in one."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
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
    # Not yet matched against the org's webhooks (webhooks.dispatch clears it): set in the
    # event's own transaction, so a committed event is never missed by webhooks.
    Column("webhook_pending", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("workspace_id", "seq"),
    Index("ix_events_unpublished", "published", "id"),
    Index("ix_events_webhook_pending", "webhook_pending", "id"),
    # Retention: old rows are found by age.
    Index("ix_events_occurred_at", "occurred_at"),
)
