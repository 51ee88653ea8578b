"""The S3 calls themselves: plain boto3, run in the provider's helper processes.

Each function is one provider operation, called through a process pool (see `s3.py`),
so signing, XML and HTTP work never runs on the API's event loop. Clients are cached per
(endpoint, region) in the process; credentials come from the usual AWS chain.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.config import Config
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
_SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
_clients: dict[tuple[str | None, str], Any] = {}


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)  # the process that started us is gone (even by SIGKILL): so are we


def init_helper(niceness: int, parent: int) -> None:
    """Pool initializer: yield the CPU to request handling; die with the parent process."""
    with contextlib.suppress(OSError):  # not permitted: run at normal priority
        os.nice(niceness)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def client(endpoint_url: str | None, region: str) -> Any:
    """A cached S3 client for `region` (path-style addressing on custom endpoints)."""
    key = (endpoint_url, region)
    if key not in _clients:
        config = Config(
            connect_timeout=5,
            read_timeout=30,
            # Retries are the job's (durable, with backoff and jitter), not botocore's.
            retries={"total_max_attempts": 1, "mode": "standard"},
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        _clients[key] = boto3.session.Session().client(
            "s3", region_name=region, endpoint_url=endpoint_url, config=config
        )
    return _clients[key]


def error_code(exc: ClientError) -> str:
    """The S3 error code of a client error ('' if absent)."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def _create(s3: Any, spec: BucketSpec) -> Made:
    params: dict[str, Any] = {"Bucket": spec.name}
    if spec.region != US_EAST_1:
        params["CreateBucketConfiguration"] = {"LocationConstraint": spec.region}
    try:
        s3.create_bucket(**params)
        return "created"
    except ClientError as exc:
        code = error_code(exc)
        if code == "BucketAlreadyOwnedByYou":
            found = s3.get_bucket_location(Bucket=spec.name).get("LocationConstraint")
            actual = found if found and found != "US" else US_EAST_1
            if actual != spec.region:
                raise PermanentBucketError(
                    f"bucket {spec.name} already exists in region {actual}, not {spec.region}"
                ) from None
            return "adopted"
        if code == "BucketAlreadyExists":
            raise NameTaken(
                f"bucket name {spec.name} is already taken by another account (BucketAlreadyExists)"
            ) from None
        if code in _REJECTED_REGION:
            raise PermanentBucketError(
                f"the object store rejected region {spec.region}: {code}"
            ) from None
        if code == "InvalidBucketName":
            raise PermanentBucketError(f"invalid bucket name {spec.name}") from None
        raise


def ensure_bucket(endpoint_url: str | None, spec: BucketSpec) -> Made:
    """Create (or adopt our own) bucket, then block public access, encrypt and tag it."""
    s3 = client(endpoint_url, spec.region)
    made = _create(s3, spec)
    s3.put_public_access_block(
        Bucket=spec.name, PublicAccessBlockConfiguration=_PUBLIC_ACCESS_BLOCK
    )
    s3.put_bucket_encryption(Bucket=spec.name, ServerSideEncryptionConfiguration=_SSE_S3)
    s3.put_bucket_tagging(
        Bucket=spec.name,
        Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())]},
    )
    return made


def _check_owner(s3: Any, name: str, workspace_id: str) -> None:
    try:
        found = s3.get_bucket_tagging(Bucket=name)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchTagSet", "NoSuchTagSetError"):
            return  # ours, made before a crash let us tag it
        raise
    tags = {t["Key"]: t["Value"] for t in found.get("TagSet", ())}
    if tags.get(TAG_WORKSPACE) != workspace_id:
        raise NotOurBucket(f"bucket {name} is not tagged for workspace {workspace_id}")


def _empty(s3: Any, name: str) -> None:
    # Always re-list from the start: keys written meanwhile are caught by the next round.
    while True:
        page = s3.list_object_versions(Bucket=name, MaxKeys=BATCH)
        doomed = [
            {"Key": v["Key"], "VersionId": v["VersionId"]}
            for v in (*page.get("Versions", ()), *page.get("DeleteMarkers", ()))
        ]
        if not doomed:
            break
        result = s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
        if errors := result.get("Errors"):
            first = errors[0]
            raise RuntimeError(
                f"{len(errors)} objects not deleted from {name}: "
                f"{first.get('Key')}: {first.get('Code')}"
            )
    for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", ()):
        s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])


def delete_bucket(endpoint_url: str | None, name: str, region: str, workspace_id: str) -> Removed:
    """Delete every object version and delete marker, then the bucket; absent is fine."""
    s3 = client(endpoint_url, region)
    for attempt in range(3):
        try:
            _check_owner(s3, name, workspace_id)
            _empty(s3, name)
            s3.delete_bucket(Bucket=name)
            return "removed"
        except ClientError as exc:
            code = error_code(exc)
            if code == "NoSuchBucket":
                return "absent"
            if code != "BucketNotEmpty" or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def list_buckets(endpoint_url: str | None, prefix: str) -> list[str]:
    """Our buckets whose name starts with `prefix`."""
    names: list[str] = []
    for page in client(endpoint_url, US_EAST_1).get_paginator("list_buckets").paginate():
        names += [b["Name"] for b in page.get("Buckets", ()) if b["Name"].startswith(prefix)]
    return sorted(names)
