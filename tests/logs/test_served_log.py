"""A real `serve` process's log: JSON when it is not a terminal, in context, free of secrets."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from mechamental.db import Database
from tests.conftest import Tenant, create_tenant
from tests.helpers import eventually
from tests.sync.procs import ServerProcess, server_env
from tests.sync.sse import open_stream

STREAM_ROUTE = "/v1/orgs/{org_id}/workspaces/{workspace_id}/sync/stream"


@pytest.fixture
def backend() -> str:
    return "sqlite"


def _read(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


async def test_served_log_is_json_in_context_and_secret_free(
    database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    try:
        tenant: Tenant = await create_tenant(db, "logs")
    finally:
        await db.dispose()
    env = server_env(
        database_url=database_url,
        data_dir=tmp_path,
        redis_url=None,
        prefix=f"mmtest-{uuid.uuid4().hex[:12]}",
        MECHAMENTAL_LOG_LEVEL="INFO",
        MECHAMENTAL_ALLOW_QUERY_TOKEN="true",
        MECHAMENTAL_RUN_WORKER="true",  # its loop logs as a component
    )
    del env["MECHAMENTAL_LOG_FORMAT"]  # unset: the log goes to a file, so it must be JSON
    server = await ServerProcess(env, log=tmp_path / "server.log").start()
    try:
        token = tenant.tokens["member"]
        async with httpx.AsyncClient(base_url=server.url) as client:
            created = await client.post(
                tenant.base, json={"name": "w"}, headers={"Authorization": f"Bearer {token}"}
            )
            assert created.status_code == 201, created.text
            ws_id = created.json()["workspace_id"]
            issued = await client.post(
                f"{tenant.base}/{ws_id}/sync/tickets", headers={"Authorization": f"Bearer {token}"}
            )
            assert issued.status_code == 201, issued.text
            ticket = issued.json()["ticket"]
            refused = await client.get(f"{tenant.base}?cursor=c-secret-cursor&access_token=nope")
            assert refused.status_code == 401
        path = f"{tenant.base}/{ws_id}/sync/stream"
        streams = [
            await open_stream(server.port, f"{path}?ticket={ticket}"),
            await open_stream(server.port, f"{path}?access_token={token}"),
        ]
        for stream in streams:
            assert stream.status == 200
            assert (await stream.next()).event == "sync.connected"
            stream.close()
        assert server.log is not None
        log = server.log

        def stream_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [x for x in lines if x.get("msg") == "request" and x["route"] == STREAM_ROUTE]

        async def read() -> list[dict[str, Any]]:
            return _read(log)

        lines = await eventually(read, lambda lines: len(stream_lines(lines)) == 2)
    finally:
        await server.kill()
    text = log.read_text()
    for secret in (token, ticket, "c-secret-cursor", "access_token=", "ticket=", "?"):
        assert secret not in text, secret
    assert "color_message" not in text and "\x1b" not in text
    for line in stream_lines(lines):
        assert line["org_id"] == tenant.org_id
        assert line["user_id"] == tenant.users["member"]
        assert len(line["request_id"]) == 32
    started = next(x for x in lines if x["msg"] == "bucket worker started")
    assert started["component"] == "bucket worker"
    assert "request_id" not in started
    uvicorn_lines = [x for x in lines if x["logger"].startswith("uvicorn")]
    assert uvicorn_lines and all("request_id" not in x for x in uvicorn_lines)
