"""The stream's timeout: sync.timeout, then the end; resuming from it is seamless."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.conftest import Tenant
from tests.sync.conftest import Server, new_workspace, rename


@pytest.mark.sync_tuning(timeout_scale=0.02)  # 60 s -> 1.2 s
async def test_timeout_then_seamless_reconnect(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    started = time.monotonic()
    stream = await server.stream(tenant, ws_id, query="timeout=60")
    await stream.next()
    await rename(client, tenant, ws_id, "one")
    updated = await stream.next()
    timeout = await stream.next(within=20)
    assert timeout.event == "sync.timeout"
    assert timeout.id == updated.id  # resuming from it misses nothing
    assert await stream.wait_end() == []
    assert time.monotonic() - started > 1.0  # not before the (scaled) timeout

    await rename(client, tenant, ws_id, "two")
    again = await server.stream(tenant, ws_id, last_event_id=timeout.id)
    connected = await again.next()
    assert connected.data["data"]["resumed"] is True
    nxt = await again.next()
    assert nxt.seq == updated.seq + 1 and nxt.data["data"]["changes"] == {"name": "two"}
    again.close()


@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
@pytest.mark.sync_settings(heartbeat_seconds=0.2)
async def test_heartbeat_comments(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    stream = await server.stream(tenant, ws_id)
    await stream.next()
    with pytest.raises(TimeoutError):
        await stream.next(within=1.0)  # comments only: no event
    assert stream.comments >= 2
    await asyncio.sleep(0)
    stream.close()
