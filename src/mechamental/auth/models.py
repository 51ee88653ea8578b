"""Tables for organizations and API tokens."""

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table

from mechamental.db import metadata
from mechamental.types import UTCDateTime

organizations = Table(
    "organizations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Maintained in the same transaction as every create/delete, so `total` costs one row read.
    Column("workspace_count", Integer, nullable=False, server_default="0"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(64), ForeignKey("organizations.id"), nullable=False),
    # A label for people; '' for keys made without one (the CLI, rows from before 0002).
    Column("name", String(200), nullable=False, server_default=""),
    Column("user_id", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    # SHA-256 of the whole secret; the secret itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    # Written in batches by `api_keys.usage.KeyUsageFlusher`, at most once a minute per key.
    Column("last_used_at", UTCDateTime, nullable=True),
    Index("ix_api_tokens_org_id", "org_id"),
    # Revocations since a moment (`WHERE revoked_at > :since`), polled by every process.
    Index("ix_api_tokens_revoked_at", "revoked_at"),
)
