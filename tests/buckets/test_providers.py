"""The providers on their own: the s3 one against the moto server, the local one on disk."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mechamental.buckets.providers import (
    BucketSpec,
    NameTaken,
    NotOurBucket,
    PermanentBucketError,
    Provider,
)
from mechamental.buckets.providers.local import LocalProvider
from mechamental.buckets.providers.s3 import S3Provider


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Provider]:
    """Each provider, fresh."""
    provider: Provider
    if request.param == "s3":
        provider = S3Provider(endpoint_url=request.getfixturevalue("moto_url"))
    else:
        provider = LocalProvider(tmp_path / "buckets")
    yield provider
    await provider.close()


def spec(region: str = "eu-west-1", workspace_id: str | None = None) -> BucketSpec:
    """A bucket for a made-up workspace."""
    ws = workspace_id or str(uuid.uuid4())
    return BucketSpec(
        name=f"p{uuid.uuid4().hex[:8]}-{ws.replace('-', '')}",
        region=region,
        org_id="org-1",
        workspace_id=ws,
    )


async def test_ensure_is_idempotent_and_delete_of_absent_is_success(store: Provider) -> None:
    wanted = spec()
    assert await store.ensure_bucket(wanted) == "created"
    assert await store.ensure_bucket(wanted) == "adopted"  # ours already: success
    prefix = wanted.name.split("-")[0]
    assert await store.list_buckets(prefix=prefix) == [wanted.name]
    kw = {"name": wanted.name, "region": wanted.region, "workspace_id": wanted.workspace_id}
    assert await store.delete_bucket(**kw) == "removed"
    assert await store.delete_bucket(**kw) == "absent"
    assert await store.list_buckets(prefix=prefix) == []


async def test_our_bucket_in_another_region_is_a_permanent_error(store: Provider) -> None:
    wanted = spec(region="eu-west-1")
    await store.ensure_bucket(wanted)
    moved = BucketSpec(wanted.name, "eu-central-1", wanted.org_id, wanted.workspace_id)
    with pytest.raises(PermanentBucketError, match="already exists in region eu-west-1"):
        await store.ensure_bucket(moved)


async def test_a_bucket_tagged_for_another_workspace_is_never_deleted(
    store: Provider,
) -> None:
    theirs = spec()
    await store.ensure_bucket(theirs)
    with pytest.raises(NotOurBucket):
        await store.delete_bucket(
            name=theirs.name, region=theirs.region, workspace_id=str(uuid.uuid4())
        )
    assert await store.list_buckets(prefix=theirs.name) == [theirs.name]


async def test_local_directory_of_another_owner_is_taken(tmp_path: Path) -> None:
    store = LocalProvider(tmp_path)
    wanted = spec()
    (tmp_path / wanted.name).mkdir()
    (tmp_path / wanted.name / "their-file").write_text("theirs")
    with pytest.raises(NameTaken, match="already taken"):
        await store.ensure_bucket(wanted)
    with pytest.raises(NotOurBucket):
        await store.delete_bucket(
            name=wanted.name, region=wanted.region, workspace_id=wanted.workspace_id
        )
    assert (tmp_path / wanted.name / "their-file").read_text() == "theirs"


async def test_s3_delete_removes_versions_markers_and_unfinished_uploads(
    moto_url: str, s3: Any
) -> None:
    store = S3Provider(endpoint_url=moto_url)
    try:
        wanted = spec(region="us-east-1")
        await store.ensure_bucket(wanted)
        s3.put_bucket_versioning(Bucket=wanted.name, VersioningConfiguration={"Status": "Enabled"})
        for i in range(5):
            s3.put_object(Bucket=wanted.name, Key=f"k{i % 2}", Body=b"x")
        s3.delete_object(Bucket=wanted.name, Key="k0")
        s3.create_multipart_upload(Bucket=wanted.name, Key="big")
        removed = await store.delete_bucket(
            name=wanted.name, region=wanted.region, workspace_id=wanted.workspace_id
        )
        assert removed == "removed"
        assert wanted.name not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    finally:
        await store.close()
