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
    Column("user_id", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    # SHA-256 of the whole secret; the secret itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index("ix_api_tokens_org_id", "org_id"),
)
