"""The bucket lifecycle through the real app and worker, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.buckets.faults import FaultProxy
from tests.buckets.helpers import (
    bucket_events,
    create,
    db_of,
    get,
    orphans,
    statuses,
    wait_jobs,
    wait_status,
)
from tests.conftest import Tenant

from mechamental.buckets.providers import TAG_ORG, TAG_WORKSPACE
from mechamental.config import Settings


@pytest.mark.parametrize("provider", ["local", "s3"])
async def test_create_answers_pending_then_bucket_becomes_active(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    ws = await create(client, tenant, name="Lab")
    assert ws["bucket_status"] == "pending" and ws["bucket_error"] is None
    first_etag = (await get(client, tenant, ws["workspace_id"])).headers["etag"]

    done = await wait_status(client, tenant, ws["workspace_id"], "active")
    assert done["s3_bucket"] == ws["s3_bucket"] and done["bucket_error"] is None
    assert (await get(client, tenant, ws["workspace_id"])).headers["etag"] != first_etag
    assert done["updated_at"] > ws["updated_at"]  # representation changed: updated_at moves

    history = await bucket_events(db_of(app), ws["workspace_id"])
    assert [e["type"] for e in history] == [
        "workspace.created",
        "workspace.bucket_status_changed",
        "workspace.bucket_status_changed",
    ]
    assert [e["seq"] for e in history] == [1, 2, 3]
    assert [e["data"] for e in history[1:]] == [
        {"bucket_status": s, "bucket_error": None, "s3_bucket": ws["s3_bucket"]}
        for s in ("provisioning", "active")
    ]
    assert await orphans(db_of(app), settings) == (set(), set())


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
async def test_s3_bucket_has_region_privacy_encryption_and_tags(
    client: httpx.AsyncClient, tenant: Tenant, s3: Any, region: str
) -> None:
    ws = await create(client, tenant, region=region)
    await wait_status(client, tenant, ws["workspace_id"], "active")
    name = ws["s3_bucket"]

    location = s3.get_bucket_location(Bucket=name)["LocationConstraint"]
    assert (location or "us-east-1") == region
    block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags == {TAG_ORG: tenant.org_id, TAG_WORKSPACE: ws["workspace_id"]}


@pytest.mark.parametrize("provider", ["local"])
async def test_local_bucket_is_a_directory_with_metadata(
    client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    ws = await create(client, tenant, region="eu-central-1")
    await wait_status(client, tenant, ws["workspace_id"], "active")
    path = settings.data_dir / "buckets" / ws["s3_bucket"]
    meta = json.loads((path / ".bucket.json").read_text())
    assert meta["region"] == "eu-central-1" and meta["encryption"] == "AES256"
    assert all(meta["public_access_block"].values())
    assert meta["tags"] == {TAG_ORG: tenant.org_id, TAG_WORKSPACE: ws["workspace_id"]}
    assert (path / "objects").is_dir()


def _fill_with_versions(s3: Any, name: str) -> None:
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        s3.put_object(Bucket=name, Key="doc.txt", Body=f"v{i}".encode())
    s3.put_object(Bucket=name, Key="other/file.bin", Body=b"x" * 10)
    s3.delete_object(Bucket=name, Key="other/file.bin")  # leaves a delete marker
    versions = s3.list_object_versions(Bucket=name)
    assert len(versions["Versions"]) == 4 and len(versions["DeleteMarkers"]) == 1


async def test_delete_empties_every_version_then_removes_the_bucket(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    s3: Any,
    settings: Settings,
    proxy: FaultProxy,
) -> None:
    ws = await create(client, tenant)
    await wait_status(client, tenant, ws["workspace_id"], "active")
    _fill_with_versions(s3, ws["s3_bucket"])

    gone = await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    assert gone.status_code == 200
    rows = await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[-1]["status"] == "done")
    assert statuses(rows) == [("provision", "done"), ("delete", "done")]
    assert ws["s3_bucket"] not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert proxy.ops("DeleteObjects", ws["s3_bucket"])  # emptied through the API, then deleted
    assert await orphans(db_of(app), settings) == (set(), set())


@pytest.mark.parametrize("provider", ["local"])
async def test_local_delete_removes_the_directory(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, settings: Settings
) -> None:
    ws = await create(client, tenant)
    await wait_status(client, tenant, ws["workspace_id"], "active")
    path = settings.data_dir / "buckets" / ws["s3_bucket"]
    (path / "objects" / "data.txt").write_text("payload")

    await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[-1]["status"] == "done")
    assert not path.exists()
    assert await orphans(db_of(app), settings) == (set(), set())


@pytest.mark.bucket_settings(bucket_delete_policy="retain")
@pytest.mark.parametrize("provider", ["local", "s3"])
async def test_retain_policy_keeps_bucket_and_data(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, settings: Settings, s3: Any
) -> None:
    ws = await create(client, tenant)
    await wait_status(client, tenant, ws["workspace_id"], "active")
    name = ws["s3_bucket"]
    if settings.bucket_provider == "s3":
        s3.put_object(Bucket=name, Key="keep.txt", Body=b"keep")
    else:
        (settings.data_dir / "buckets" / name / "objects" / "keep.txt").write_text("keep")

    await client.delete(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    rows = await wait_jobs(
        db_of(app), ws["workspace_id"], lambda r: r[-1]["status"] in ("retained", "done", "failed")
    )
    assert statuses(rows)[-1] == ("delete", "retained")
    assert (await get(client, tenant, ws["workspace_id"])).status_code == 404
    if settings.bucket_provider == "s3":
        assert s3.get_object(Bucket=name, Key="keep.txt")["Body"].read() == b"keep"
    else:
        assert (settings.data_dir / "buckets" / name / "objects" / "keep.txt").exists()
    stray, missing = await orphans(db_of(app), settings)
    assert stray == {name} and missing == set()  # kept on purpose, and only that one
