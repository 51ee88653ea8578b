"""Real `serve` processes: a worker killed mid-delivery redelivers after restart, and two
processes delivering the same log never make one attempt twice at once."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.procs import lone_server
from tests.webhooks.conftest import Receiver

ENV = {
    "MECHAMENTAL_RUN_WORKER": "true",
    "MECHAMENTAL_WEBHOOK_ALLOW_PRIVATE": "true",
    "MECHAMENTAL_WEBHOOK_TIMEOUT_SECONDS": "1",
    "MECHAMENTAL_WEBHOOK_LEASE_SECONDS": "2",
    "MECHAMENTAL_WEBHOOK_POLL_SECONDS": "0.1",
}


async def _hook(base: str, tenant: Tenant, receiver: Receiver, types: list[str]) -> str:
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post(
            f"/v1/orgs/{tenant.org_id}/webhooks",
            json={"url": receiver.url, "event_types": types},
            headers=tenant.headers(),
        )
    assert response.status_code == 201, response.text
    receiver.secrets.append(response.json()["secret"])
    webhook_id: str = response.json()["id"]
    return webhook_id


def _dir(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.mkdir()
    return path


async def _count(value: Any) -> Any:
    return value


async def test_killed_mid_delivery_then_redelivered(
    database_url: str,
    tmp_path: Path,
    tenant_db: Tenant,
    receivers: Any,
) -> None:
    tenant = tenant_db
    receiver: Receiver = await receivers()
    hold = asyncio.Event()

    async def first_holds(_r: Any) -> int:
        if len(receiver.requests) == 1:
            await hold.wait()
        return 200

    receiver.respond = first_holds
    async with lone_server(database_url, _dir(tmp_path, "a"), **ENV) as first:
        await _hook(first.url, tenant, receiver, ["workspace.created"])
        async with httpx.AsyncClient(base_url=first.url) as http:
            created = await http.post(
                f"/v1/orgs/{tenant.org_id}/workspaces", json={"name": "k"}, headers=tenant.headers()
            )
        assert created.status_code == 201
        await eventually(lambda: _count(len(receiver.requests)), lambda n: n == 1)
        first.signal(signal.SIGKILL)  # mid-delivery: the receiver has not answered
        await first.wait()
    hold.set()
    async with lone_server(database_url, _dir(tmp_path, "b"), **ENV):
        await eventually(lambda: _count(len(receiver.requests)), lambda n: n == 2, within=30)
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids[0] == ids[1] and all(r.verified is not None for r in receiver.requests)
    assert receiver.requests[1].verified["workspace_id"] == created.json()["workspace_id"]


# Several processes share one database only on a server: PostgreSQL alone.
@pytest.mark.parametrize("backend", ["postgres"])
async def test_two_processes_never_attempt_one_delivery_twice_at_once(
    backend: str,
    database_url: str,
    tmp_path: Path,
    tenant_db: Tenant,
    receivers: Any,
) -> None:
    tenant = tenant_db
    receiver: Receiver = await receivers()

    async def slowish(_r: Any) -> int:
        await asyncio.sleep(0.02)
        return 200

    receiver.respond = slowish
    async with contextlib.AsyncExitStack() as stack:
        one = await stack.enter_async_context(lone_server(database_url, _dir(tmp_path, "1"), **ENV))
        two = await stack.enter_async_context(lone_server(database_url, _dir(tmp_path, "2"), **ENV))
        await _hook(one.url, tenant, receiver, ["workspace.created", "workspace.updated"])
        async with httpx.AsyncClient(base_url=two.url) as http:
            ws = await http.post(
                f"/v1/orgs/{tenant.org_id}/workspaces", json={"name": "p"}, headers=tenant.headers()
            )
            assert ws.status_code == 201
            url = f"/v1/orgs/{tenant.org_id}/workspaces/{ws.json()['workspace_id']}"
            for n in range(40):
                response = await http.put(url, json={"name": f"n{n}"}, headers=tenant.headers())
                assert response.status_code == 200
        await eventually(lambda: _count(len(receiver.requests)), lambda n: n >= 41, within=60)
        await asyncio.sleep(0.5)  # anything duplicated would arrive meanwhile
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 41
    assert receiver.overlaps == 0
