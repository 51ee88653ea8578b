"""Object stores that hold workspace buckets, behind one small protocol.

A provider makes a bucket exist with the properties we require (idempotently: a bucket
we already own counts as success), removes one with all its data (a missing bucket counts
as success), and lists the buckets it holds under a prefix (for orphan checks).
Errors: `PermanentBucketError` (and its `NotOurBucket`) means retrying cannot help (the
name belongs to someone else, the store rejects the region); any other exception is
treated as transient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

TAG_ORG = "mechamental:org_id"
TAG_WORKSPACE = "mechamental:workspace_id"


class PermanentBucketError(Exception):
    """A failure that retrying will not fix (shown to users as `bucket_error`)."""


class NameTaken(PermanentBucketError):
    """Making the bucket failed because another owner holds the name."""


class NotOurBucket(PermanentBucketError):
    """A bucket with the name exists but belongs to someone else: it is left alone."""


Made = Literal["created", "adopted"]  # new, or one we already owned
Removed = Literal["removed", "absent"]


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """What a workspace's bucket must look like."""

    name: str
    region: str
    org_id: str
    workspace_id: str

    @property
    def tags(self) -> dict[str, str]:
        """The tags every workspace bucket carries."""
        return {TAG_ORG: self.org_id, TAG_WORKSPACE: self.workspace_id}


class Provider(Protocol):
    """An object store that makes, removes and lists buckets."""

    name: str

    async def ensure_bucket(self, spec: BucketSpec) -> Made:
        """Make `spec.name` exist: in its region, private, SSE-S3 encrypted, tagged."""
        ...

    async def delete_bucket(self, *, name: str, region: str, workspace_id: str) -> Removed:
        """Empty (every version, every delete marker) and delete the workspace's bucket.

        A missing bucket is success; one tagged for another workspace raises `NotOurBucket`.
        """
        ...

    async def list_buckets(self, *, prefix: str) -> list[str]:
        """Names of the buckets we own whose name starts with `prefix`."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
