"""A closed stream leaves nothing behind: 10,000 open/close cycles through the real server.

Each cycle opens a stream (until `sync.connected`) and drops the connection, as a browser
tab does. Afterwards the live per-stream objects (streams, connections' protocols, the
registry's entries, presence's count) are what they were before: before the fix the
deadline wheel kept every closed stream (with its transport and socket) for `timeout`.
"""

from __future__ import annotations

import asyncio
import gc

import httpx
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mechamental.sync.fanout.connection import Stream
from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.conftest import Server, new_workspace

CYCLES = 10_000
CLIENTS = 20


def live(server: Server, ws_id: str, user: str) -> dict[str, int]:
    """Counts of everything the process keeps per open stream."""
    gc.collect()
    objects = gc.get_objects()
    registry = server.hub.registry
    channel = registry.channels.get(ws_id)
    return {
        "streams": sum(1 for o in objects if type(o) is Stream),
        "protocols": sum(1 for o in objects if isinstance(o, HttpToolsProtocol)),
        "deadlines": len(registry.deadlines),
        "queued": len(registry.queued),
        "channels": len(registry.channels),
        "attached": channel.size if channel is not None else 0,
        "presence": server.hub.presence.open_streams(ws_id, user),
    }


async def cycle(port: int, request: bytes, count: int) -> None:
    """Open a stream until its `sync.connected`, then drop the connection; `count` times."""
    for _ in range(count):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        await reader.readuntil(b"event: sync.connected\n")
        writer.transport.abort()


@pytest.mark.timeout(600)  # ~10k stream opens: ~1 min quiet, several on a loaded machine
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("bus", ["embedded"], indirect=True)
async def test_closed_streams_are_freed(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws_id = await new_workspace(client, tenant)
    path = f"{tenant.base}/{ws_id}/sync/stream"
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
        f"Authorization: Bearer {tenant.tokens['member']}\r\n\r\n"
    ).encode()
    user = tenant.users["member"]
    keeper = await asyncio.open_connection("127.0.0.1", server.port)  # one stays open
    keeper[1].write(request)
    await keeper[0].readuntil(b"event: sync.connected\n")
    await cycle(server.port, request, 50)  # warm caches up

    async def counts() -> dict[str, int]:
        await server.hub.presence.flush()
        return live(server, ws_id, user)

    baseline = await eventually(counts, lambda c: c["presence"] == 1 and c["attached"] == 1)
    assert baseline["streams"] == 1 and baseline["deadlines"] == 1
    await asyncio.gather(*(cycle(server.port, request, CYCLES // CLIENTS) for _ in range(CLIENTS)))
    assert await eventually(counts, lambda c: c == baseline)
    keeper[1].transport.abort()
    gone = {**baseline, "streams": 0, "deadlines": 0, "channels": 0, "attached": 0}
    gone["protocols"] -= 1
    gone["presence"] = 0
    assert await eventually(counts, lambda c: c == gone)
