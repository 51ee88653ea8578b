"""Slow clients are cut off without holding memory or delaying others; shutdown; fallback path."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from fastapi import FastAPI
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.conftest import (
    Server,
    new_workspace,
    presence,
    rename,
    serve,
    stop_server,
)

BIG = "x" * 1990


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.sync_settings(stream_queue_limit=5)
async def test_a_slow_client_is_cut_off_and_others_get_everything(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    fast = await server.stream(tenant, ws_id)
    slow = await server.stream(tenant, ws_id, rcvbuf=4096)
    mark = (await slow.next()).id
    slow.writer.transport.pause_reading()  # then it stops reading
    await fast.next()
    channel = server.hub.registry.channels[ws_id]
    sent = 0
    received = []
    while channel.size == 2:
        assert sent < 2000, "the slow stream was never cut off"
        response = await client.put(
            f"{tenant.base}/{ws_id}",
            json={"description": f"{sent}{BIG}"},
            headers=tenant.headers(),
        )
        assert response.status_code == 200
        sent += 1
        received.append(await fast.next())  # the fast reader keeps up all along
    numbers = [int(e.data["data"]["changes"]["description"].rstrip("x")) for e in received]
    assert numbers == list(range(sent))
    assert [e.seq for e in received] == list(range(received[0].seq, received[0].seq + sent))
    # What the slow stream held is bounded by the limit, then released.
    assert await eventually(lambda: _sizes(server, ws_id), lambda n: n == 1)
    slow.close()

    # It resumes from the last id it saw: everything, once, in order.
    again = await server.stream(tenant, ws_id, last_event_id=mark)
    await again.next()
    replay = await again.take(sent)
    assert [e.seq for e in replay] == [e.seq for e in received]
    again.close()
    fast.close()


async def _sizes(server: Server, ws_id: str) -> int:
    return server.hub.registry.channels[ws_id].size


@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
async def test_server_shutdown_ends_streams_promptly(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    uv, port, task = await serve(app)
    server = Server(app, port)
    ws_id = await new_workspace(client, tenant)
    streams = [await server.stream(tenant, ws_id) for _ in range(5)]
    for stream in streams:
        await stream.next()
    started = time.monotonic()
    stopping = asyncio.create_task(stop_server(uv, task))
    for stream in streams:
        assert await stream.wait_end(within=5) == []
    assert time.monotonic() - started < 2.0
    await stopping


@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
@pytest.mark.sync_tuning(timeout_scale=0.02)
async def test_fallback_without_the_transport_extension(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """On a server without the extension the stream still works, through ASGI sends."""
    uv, port, task = await serve(app, protocol=HttpToolsProtocol)
    server = Server(app, port)
    try:
        ws_id = await new_workspace(client, tenant)
        stream = await server.stream(tenant, ws_id, "member", query="timeout=60")
        head = await stream.next()
        assert stream.retry is not None and 1500 <= stream.retry <= 4500
        assert head.event == "sync.connected"
        await rename(client, tenant, ws_id, "fallback")
        assert (await stream.next()).data["data"]["changes"] == {"name": "fallback"}
        await presence(client, tenant, ws_id, "join", "member")
        assert (await stream.next()).event == "presence.joined"
        timeout = await stream.next(within=20)
        assert timeout.event == "sync.timeout"
        assert await stream.wait_end() == []
        hub = server.hub
        user = tenant.users["member"]
        await eventually(_flushed(hub, ws_id, user), lambda n: n == 0)
        again = await server.stream(tenant, ws_id, "member")
        await again.next()
        await eventually(_flushed(hub, ws_id, user), lambda n: n == 1)
        again.close()  # a dropped client is noticed
        await eventually(_flushed(hub, ws_id, user), lambda n: n == 0)
    finally:
        await stop_server(uv, task)


def _flushed(hub: object, ws_id: str, user: str):  # type: ignore[no-untyped-def]
    async def probe() -> int:
        await hub.presence.flush()  # type: ignore[attr-defined]
        return int(hub.presence.open_streams(ws_id, user))  # type: ignore[attr-defined]

    return probe
