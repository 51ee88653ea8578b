"""Real `mechamental` processes: a worker killed with SIGKILL, and the operator commands."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.buckets.faults import FaultProxy
from tests.buckets.helpers import create, db_of, statuses, wait_jobs, wait_status
from tests.conftest import Tenant
from typer.testing import CliRunner, Result

from mechamental.cli import app as main_app
from mechamental.config import get_settings

MECHAMENTAL = str(Path(sys.executable).with_name("mechamental"))


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`mechamental worker` in its own process."""
    return subprocess.Popen(
        [MECHAMENTAL, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


@pytest.fixture
def cli_env(worker_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test's settings in the environment, as the `mechamental` command reads them."""
    for name, value in worker_env.items():
        if name.startswith("MECHAMENTAL_"):
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def cli(*args: str) -> Result:
    """Run `mechamental ARGS` through Typer, in a thread (it runs its own event loop)."""
    return await asyncio.to_thread(CliRunner().invoke, main_app, list(args))


@pytest.mark.bucket_settings(run_worker=False, bucket_lease_seconds=1.5)
async def test_worker_killed_mid_provisioning_is_taken_over(
    proxy: FaultProxy,
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    worker_env: dict[str, str],
    s3: Any,
) -> None:
    proxy.hold(lambda op: op.name == "CreateBucket")
    ws = await create(client, tenant, region="eu-west-1")
    first = start_worker(worker_env)
    try:
        await asyncio.to_thread(proxy.wait_held)  # leased, and inside CreateBucket
        rows = await wait_jobs(db_of(app), ws["workspace_id"], lambda r: bool(r))
        assert rows[0]["status"] == "running" and rows[0]["lease_owner"]
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=30) == -signal.SIGKILL
    finally:
        first.kill()
    proxy.release()  # the dead worker's request may still reach the store: that is fine

    second = start_worker(worker_env)
    try:
        done = await wait_status(client, tenant, ws["workspace_id"], "active", "failed")
        assert done["bucket_status"] == "active", done
        rows = await wait_jobs(db_of(app), ws["workspace_id"], lambda r: r[0]["status"] == "done")
        assert rows[0]["attempts"] == 2 and rows[0]["outcome"] in ("created", "adopted")
        tags = s3.get_bucket_tagging(Bucket=ws["s3_bucket"])["TagSet"]
        assert {"Key": "mechamental:workspace_id", "Value": ws["workspace_id"]} in tags
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=30) == 0, second.stderr.read() if second.stderr else ""
    finally:
        second.kill()


@pytest.mark.bucket_settings(bucket_max_attempts=2)
async def test_operator_lists_and_retries_failed_buckets(
    proxy: FaultProxy,
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    cli_env: None,
    s3: Any,
) -> None:
    proxy.fail(lambda op: op.name in ("CreateBucket", "DeleteBucket"), 503, "SlowDown")
    doomed = await create(client, tenant)
    kept = await create(client, tenant)
    for ws in (doomed, kept):
        await wait_status(client, tenant, ws["workspace_id"], "failed")
    proxy.clear_failures()
    retried = await cli("buckets", "retry", kept["workspace_id"])
    assert retried.exit_code == 0 and "provisioning queued" in retried.stdout
    await wait_status(client, tenant, kept["workspace_id"], "active")

    proxy.fail(lambda op: op.name == "DeleteBucket", 503, "SlowDown")
    await client.delete(f"{tenant.base}/{kept['workspace_id']}", headers=tenant.headers())
    await wait_jobs(db_of(app), kept["workspace_id"], lambda r: r[-1]["status"] == "failed")

    listed = await cli("buckets", "status")
    assert listed.exit_code == 0, listed.output
    lines = {line.split("\t")[0]: line.split("\t") for line in listed.stdout.splitlines()[1:]}
    assert (
        lines[doomed["workspace_id"]][3] == "failed"
        and "SlowDown" in lines[doomed["workspace_id"]][7]
    )
    assert lines[kept["workspace_id"]][3] == "delete_failed"

    proxy.clear_failures()
    again = await cli("buckets", "retry", kept["workspace_id"])
    assert again.exit_code == 0 and "removal" in again.stdout
    rows = await wait_jobs(db_of(app), kept["workspace_id"], lambda r: r[-1]["status"] == "done")
    assert statuses(rows) == [("provision", "failed"), ("provision", "done"), ("delete", "done")]
    assert kept["s3_bucket"] not in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    unknown = await cli("buckets", "retry", "no-such-workspace")
    assert unknown.exit_code == 1 and "no workspace" in unknown.stderr
