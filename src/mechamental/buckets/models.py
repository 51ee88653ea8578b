"""Bucket vocabulary and tables: a workspace's `BucketStatus`, and the durable bucket jobs
(written in the same transaction as the workspace change that needs them)."""

from enum import StrEnum

from sqlalchemy import Column, Index, Integer, String, Table, Text

from mechamental.db import metadata
from mechamental.types import UTCDateTime


# A workspace's `bucket_status`; `buckets.state` changes it. (No docstring: pydantic would
# put it into the OpenAPI schema.)
class BucketStatus(StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    ACTIVE = "active"
    FAILED = "failed"
    DELETING = "deleting"  # only in reports (`buckets.admin`): a deleted workspace's bucket


bucket_jobs = Table(
    "bucket_jobs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("org_id", String(64), nullable=False),
    Column("workspace_id", String(36), nullable=False),
    Column("bucket_name", String(63), nullable=False),
    Column("region", String(32), nullable=False),
    Column("action", String(16), nullable=False),  # provision | delete
    # queued | running | done | retained | failed | cancelled (see buckets.jobs)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    # When the job is next due: its retry time while queued, its lease expiry while running.
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    # What the last run found or did: created | adopted | name_taken | removed | absent | ...
    Column("outcome", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_bucket_jobs_due", "status", "next_attempt_at"),
    Index("ix_bucket_jobs_workspace", "workspace_id"),
    Index("ix_bucket_jobs_finished", "status", "updated_at"),
)
