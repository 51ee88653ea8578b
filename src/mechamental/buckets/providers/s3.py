"""The S3 provider: AWS or any S3-compatible store (MinIO, Ceph), through aiobotocore.

Credentials come from the usual AWS chain (environment, shared files, instance role).
One client per region: a bucket outside us-east-1 is created with a request signed for
its own region and `CreateBucketConfiguration.LocationConstraint`.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import ClientError

from mechamental.buckets.providers import (
    TAG_WORKSPACE,
    BucketSpec,
    Made,
    NameTaken,
    NotOurBucket,
    PermanentBucketError,
    Removed,
)

US_EAST_1 = "us-east-1"
BATCH = 1000  # DeleteObjects takes at most 1,000 keys
_REJECTED_REGION = {
    "InvalidLocationConstraint",
    "IllegalLocationConstraintException",
    "IncompatibleLocationConstraint",
}
_PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
_SSE_S3 = {
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
}


_shared_session: AioSession | None = None


def _session() -> AioSession:
    # One botocore session per process: its loader caches the (large) S3 service model.
    global _shared_session
    if _shared_session is None:
        _shared_session = get_session()
    return _shared_session


def error_code(exc: ClientError) -> str:
    """The S3 error code of a client error ('' if absent)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def _location(region: str) -> str:
    return US_EAST_1 if region in ("", "None", "US") else region


class S3Provider:
    """Buckets on an S3-compatible endpoint."""

    name = "s3"

    def __init__(self, *, endpoint_url: str | None, config: AioConfig | None = None) -> None:
        self.endpoint_url = endpoint_url
        self._config = config or AioConfig(
            connect_timeout=5,
            read_timeout=30,
            # Retries are the job's (durable, with backoff and jitter), not botocore's.
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=32,
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        self._session = _session()
        self._stack = AsyncExitStack()
        self._clients: dict[str, Any] = {}
        self._lock = asyncio.Lock()

    async def _client(self, region: str) -> Any:
        client = self._clients.get(region)
        if client is None:
            async with self._lock:
                client = self._clients.get(region)
                if client is None:
                    client = await self._stack.enter_async_context(
                        self._session.create_client(
                            "s3",
                            region_name=region,
                            endpoint_url=self.endpoint_url,
                            config=self._config,
                        )
                    )
                    self._clients[region] = client
        return client

    async def _create(self, s3: Any, spec: BucketSpec) -> Made:
        params: dict[str, Any] = {"Bucket": spec.name}
        if spec.region != US_EAST_1:
            params["CreateBucketConfiguration"] = {"LocationConstraint": spec.region}
        try:
            await s3.create_bucket(**params)
            return "created"
        except ClientError as exc:
            code = error_code(exc)
            if code == "BucketAlreadyOwnedByYou":
                found = await s3.get_bucket_location(Bucket=spec.name)
                actual = _location(str(found.get("LocationConstraint")))
                if actual != spec.region:
                    raise PermanentBucketError(
                        f"bucket {spec.name} already exists in region {actual}, not {spec.region}"
                    ) from exc
                return "adopted"
            if code == "BucketAlreadyExists":
                raise NameTaken(
                    f"bucket name {spec.name} is already taken by another account "
                    "(BucketAlreadyExists)"
                ) from exc
            if code in _REJECTED_REGION:
                raise PermanentBucketError(
                    f"the object store rejected region {spec.region}: {code}"
                ) from exc
            if code == "InvalidBucketName":
                raise PermanentBucketError(f"invalid bucket name {spec.name}") from exc
            raise

    async def ensure_bucket(self, spec: BucketSpec) -> Made:
        """Create (or adopt our own) bucket, then block public access, encrypt and tag it."""
        s3 = await self._client(spec.region)
        made = await self._create(s3, spec)
        await s3.put_public_access_block(
            Bucket=spec.name, PublicAccessBlockConfiguration=_PUBLIC_ACCESS_BLOCK
        )
        await s3.put_bucket_encryption(Bucket=spec.name, ServerSideEncryptionConfiguration=_SSE_S3)
        await s3.put_bucket_tagging(
            Bucket=spec.name,
            Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())]},
        )
        return made

    async def _empty(self, s3: Any, name: str) -> None:
        # Always re-list from the start: keys written meanwhile are caught by the next round.
        while True:
            page = await s3.list_object_versions(Bucket=name, MaxKeys=BATCH)
            doomed = [
                {"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in (*page.get("Versions", ()), *page.get("DeleteMarkers", ()))
            ]
            if not doomed:
                break
            result = await s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
            if errors := result.get("Errors"):
                first = errors[0]
                raise RuntimeError(
                    f"{len(errors)} objects not deleted from {name}: "
                    f"{first.get('Key')}: {first.get('Code')}"
                )
        uploads = await s3.list_multipart_uploads(Bucket=name)
        for upload in uploads.get("Uploads", ()):
            await s3.abort_multipart_upload(
                Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
            )

    async def _check_owner(self, s3: Any, name: str, workspace_id: str) -> None:
        try:
            found = await s3.get_bucket_tagging(Bucket=name)
        except ClientError as exc:
            if error_code(exc) in ("NoSuchTagSet", "NoSuchTagSetError"):
                return  # ours, made before a crash let us tag it
            raise
        tags = {t["Key"]: t["Value"] for t in found.get("TagSet", ())}
        if tags.get(TAG_WORKSPACE) != workspace_id:
            raise NotOurBucket(f"bucket {name} is not tagged for workspace {workspace_id}")

    async def delete_bucket(self, *, name: str, region: str, workspace_id: str) -> Removed:
        """Delete every object version and delete marker, then the bucket; absent is fine."""
        s3 = await self._client(region)
        for attempt in range(3):
            try:
                await self._check_owner(s3, name, workspace_id)
                await self._empty(s3, name)
                await s3.delete_bucket(Bucket=name)
                return "removed"
            except ClientError as exc:
                code = error_code(exc)
                if code == "NoSuchBucket":
                    return "absent"
                if code != "BucketNotEmpty" or attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def list_buckets(self, *, prefix: str) -> list[str]:
        """Our buckets whose name starts with `prefix`."""
        s3 = await self._client(US_EAST_1)
        found = await s3.list_buckets()
        return sorted(b["Name"] for b in found.get("Buckets", ()) if b["Name"].startswith(prefix))

    async def close(self) -> None:
        """Close every client."""
        self._clients.clear()
        await self._stack.aclose()
