"""Webhook tables: the endpoints, their deliveries (durable work, leased like bucket jobs),
and each delivery's attempts."""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mechamental.db import metadata
from mechamental.types import UTCDateTime

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(64), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", String(500), nullable=False, server_default=""),
    # Exact names or prefixes ending in ".*"; ["*"] is every event.
    Column("event_types", JSON, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(200), nullable=True),
    # AES-GCM under a key derived from SECRET_KEY (webhooks.secrets): a dump alone cannot sign.
    Column("secret", Text, nullable=False),
    Column("previous_secret", Text, nullable=True),
    Column("previous_secret_until", UTCDateTime, nullable=True),
    # Start of the current run of failed attempts (None after a 2xx): 5 days of it disables.
    Column("failing_since", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_webhooks_org", "org_id", "created_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(36), primary_key=True),  # UUIDv7: newest first is id order
    Column("org_id", String(64), nullable=False),
    Column("webhook_id", String(36), nullable=False),
    # The `webhook-id` header: the same on every attempt, so receivers deduplicate by it.
    Column("message_id", String(120), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("event_id", String(40), nullable=True),  # the body's `id` (None for webhook.test)
    Column("payload", Text, nullable=False),  # the body, encoded once at dispatch
    # pending | delivering (leased) | succeeded | failed (see webhooks.deliveries)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # Pending: when the next attempt is due; delivering: the lease expiry.
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("lease_owner", String(64), nullable=True),
    Column("last_error", String(500), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("webhook_id", "message_id"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_list", "webhook_id", "id"),
    Index("ix_webhook_deliveries_finished", "status", "updated_at"),
    Index("ix_webhook_deliveries_endpoint_due", "webhook_id", "next_attempt_at"),  # claims
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("delivery_id", String(36), nullable=False),
    Column("attempted_at", UTCDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("error", String(500), nullable=True),
    Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
)
