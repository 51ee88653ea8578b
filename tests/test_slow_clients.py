"""The HTTP edge against a real `serve` process: slow clients, bad bytes, the open-file limit.

The protocol class (sync/fanout/protocol.py) is only in play under uvicorn, so every test
talks raw TCP to a server process. Timeouts are set to 1 s here; the tests wait for the
close itself (bounded generously), never for how long it took. The edge does not depend
on the database, so the server runs on the embedded one only.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mechamental.db import Database
from tests.conftest import Tenant, create_tenant
from tests.helpers import ENVELOPE_KEYS, eventually
from tests.sync.procs import ServerProcess, lone_server
from tests.sync.sse import open_stream, read_error

CLOSE_WITHIN = 30.0  # generous: the server closes after ~1 s
FD_RESERVE = 40


@pytest.fixture
async def tenant(sqlite_database_url: str) -> AsyncIterator[Tenant]:
    db = Database(sqlite_database_url)
    try:
        yield await create_tenant(db, "edge")
    finally:
        await db.dispose()


@pytest.fixture
async def server(sqlite_database_url: str, tmp_path: Path) -> AsyncIterator[ServerProcess]:
    async with lone_server(
        sqlite_database_url,
        tmp_path,
        MECHAMENTAL_REQUEST_HEAD_TIMEOUT_SECONDS="1",
        MECHAMENTAL_REQUEST_BODY_TIMEOUT_SECONDS="1",
        MECHAMENTAL_KEEPALIVE_TIMEOUT_SECONDS="1",
        MECHAMENTAL_FD_RESERVE=str(FD_RESERVE),
    ) as proc:
        yield proc


async def _send(server: ServerProcess, data: bytes) -> tuple[asyncio.StreamReader, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    if data:
        writer.write(data)
        await writer.drain()
    return reader, writer


async def _until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), CLOSE_WITHIN)


def _parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def _assert_error(raw: bytes, status: int, error: str) -> dict[str, str]:
    code, headers, body = _parse(raw)
    assert code == status, raw
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    assert len(headers["x-request-id"]) == 32
    envelope = json.loads(body)
    assert set(envelope) == ENVELOPE_KEYS
    assert envelope["error"] == error and envelope["status_code"] == status
    return headers


async def test_half_a_request_line_is_answered_408_and_closed(server: ServerProcess) -> None:
    reader, writer = await _send(server, b"GET /heal")
    _assert_error(await _until_closed(reader), 408, "REQUEST_TIMEOUT")
    writer.close()


async def test_half_a_header_block_is_answered_408_and_closed(server: ServerProcess) -> None:
    reader, writer = await _send(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a")
    _assert_error(await _until_closed(reader), 408, "REQUEST_TIMEOUT")
    writer.close()


async def test_a_connection_that_sends_nothing_is_closed(server: ServerProcess) -> None:
    reader, writer = await _send(server, b"")
    assert await _until_closed(reader) == b""
    writer.close()


async def test_a_stalled_body_is_answered_408_and_closed(
    server: ServerProcess, tenant: Tenant
) -> None:
    head = (
        f"POST {tenant.base} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {tenant.tokens['owner']}\r\nContent-Length: 100\r\n\r\n"
    )
    reader, writer = await _send(server, head.encode() + b'{"name": "sl')
    _assert_error(await _until_closed(reader), 408, "REQUEST_TIMEOUT")
    writer.close()
    async with httpx.AsyncClient(base_url=server.url) as client:
        listed = await client.get(tenant.base, headers=tenant.headers())
    assert listed.json()["total"] == 0  # nothing was created from the partial body


async def test_an_idle_keep_alive_connection_is_closed(server: ServerProcess) -> None:
    reader, writer = await _send(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    raw = await _until_closed(reader)  # one answer, then the idle connection is closed
    status, headers, body = _parse(raw)
    assert status == 200 and json.loads(body) == {"status": "ok"}
    assert "connection" not in headers  # it was kept alive, then closed for idling
    writer.close()


@pytest.mark.parametrize(
    "data", [b"\xff\r\n\r\n", b"GET /\xff HTTP/1.1\r\n\r\n", b"NOT HTTP AT ALL\r\n\r\n"]
)
async def test_invalid_http_gets_a_400_envelope(server: ServerProcess, data: bytes) -> None:
    reader, writer = await _send(server, data)
    _assert_error(await _until_closed(reader), 400, "BAD_REQUEST")
    writer.close()


async def _healthy(server: ServerProcess) -> int:
    try:
        async with httpx.AsyncClient(base_url=server.url) as client:
            return (await client.get("/healthz")).status_code
    except httpx.HTTPError:
        return 0


async def test_near_the_open_file_limit_new_connections_get_503_and_it_keeps_serving(
    server: ServerProcess, tenant: Tenant
) -> None:
    assert server.proc is not None
    pid = server.proc.pid
    async with httpx.AsyncClient(base_url=server.url) as client:
        created = await client.post(tenant.base, json={"name": "w"}, headers=tenant.headers())
    stream_path = f"{tenant.base}/{created.json()['workspace_id']}/sync/stream"
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    limit = in_use + FD_RESERVE + 10  # ~10 connections fit below the reserve
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, limit))
    held = [await _send(server, b"") for _ in range(30)]  # past the reserve, under the limit
    try:
        refused = await open_stream(server.port, stream_path, tenant.headers())
        assert refused.status == 503
        assert refused.headers["retry-after"] == "1"
        assert len(refused.headers["x-request-id"]) == 32
        body = await read_error(refused)
        assert body["error"] == "SERVICE_UNAVAILABLE" and set(body) == ENVELOPE_KEYS
        # Past the limit itself: accept() fails with EMFILE, which the loop survives.
        held += [await _send(server, b"") for _ in range(FD_RESERVE + 30)]
    finally:
        for _reader, writer in held:
            writer.close()
    assert await eventually(lambda: _healthy(server), lambda status: status == 200) == 200
    stream = await open_stream(server.port, stream_path, tenant.headers())
    assert stream.status == 200
    assert (await stream.next()).event == "sync.connected"
    stream.close()
    assert server.proc.poll() is None
