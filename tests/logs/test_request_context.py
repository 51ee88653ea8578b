"""Every line written while a request runs carries its context, in the real app.

A probe route added to the real app writes the kinds of lines services write: one in the
handler, one from an `after_commit` hook, one from a task the request started. The request's
own line, and nothing else, must carry the caller.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from mechamental.auth.permissions import Permission
from mechamental.dependencies import Caller, require
from mechamental.logging import component_logging, configure_logging, resolve_format
from tests.conftest import Tenant

probe_log = logging.getLogger("mechamental.tests.probe")


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The root logger writing JSON into a buffer (restored afterwards)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    buffer = io.StringIO()
    configure_logging("INFO", "json", stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def _server_text(buffer: io.StringIO) -> str:
    """What the server wrote (the test's own httpx client logs the URLs it asks for)."""
    return "\n".join(
        json.dumps(line) for line in _lines(buffer) if not line["logger"].startswith("httpx")
    )


def _add_probe(app: FastAPI) -> None:
    async def probe(
        caller: Annotated[Caller, Depends(require(Permission.WORKSPACE_READ))],
    ) -> dict[str, str]:
        probe_log.info("in the handler")
        async with caller.services.db.transaction() as conn:
            conn.after_commit(lambda: probe_log.info("after the commit"))

        async def spawned() -> None:
            await asyncio.sleep(0)
            probe_log.info("in a task the request started")

        await asyncio.create_task(spawned())
        return {"ok": "yes"}

    app.add_api_route("/v1/orgs/{org_id}/log-probe", probe, methods=["GET"])


async def test_request_lines_carry_request_route_and_caller(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, captured: io.StringIO
) -> None:
    _add_probe(app)
    response = await client.get(
        f"/v1/orgs/{tenant.org_id}/log-probe?secret=hunter2",
        headers={**tenant.headers("viewer"), "X-Request-ID": "req-probe-1"},
    )
    assert response.status_code == 200, response.text
    lines = _lines(captured)
    by_msg = {line["msg"]: line for line in lines}
    for msg in ("in the handler", "after the commit", "in a task the request started", "request"):
        line = by_msg[msg]
        assert line["request_id"] == "req-probe-1", line
        assert line["route"] == "/v1/orgs/{org_id}/log-probe", line
        assert line["org_id"] == tenant.org_id, line
        assert line["user_id"] == tenant.users["viewer"], line
        assert "component" not in line
    text = _server_text(captured)
    assert "hunter2" not in text and "secret=" not in text
    assert tenant.tokens["viewer"] not in text


async def test_lines_after_the_request_carry_no_context(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, captured: io.StringIO
) -> None:
    _add_probe(app)
    response = await client.get(f"/v1/orgs/{tenant.org_id}/log-probe", headers=tenant.headers())
    assert response.status_code == 200
    probe_log.info("outside any request")
    with component_logging("probe component"):
        probe_log.info("inside a component")
        task = asyncio.get_running_loop().create_task(asyncio.sleep(0))
    await task
    by_msg = {line["msg"]: line for line in _lines(captured)}
    outside = by_msg["outside any request"]
    assert not {"request_id", "route", "org_id", "user_id", "component"} & outside.keys()
    inside = by_msg["inside a component"]
    assert inside["component"] == "probe component"
    assert not {"request_id", "route", "org_id", "user_id"} & inside.keys()


async def test_an_unauthenticated_request_logs_its_id_without_a_caller(
    client: httpx.AsyncClient, tenant: Tenant, captured: io.StringIO
) -> None:
    response = await client.get(
        f"{tenant.base}?cursor=abc", headers={"Authorization": "Bearer mm_not-a-real-key"}
    )
    assert response.status_code == 401
    request_line = next(line for line in _lines(captured) if line["msg"] == "request")
    assert request_line["request_id"] == response.headers["x-request-id"]
    assert request_line["route"] == "/v1/orgs/{org_id}/workspaces"
    assert request_line["status"] == 401
    assert request_line["org_id"] is None and request_line["user_id"] is None
    assert "mm_not-a-real-key" not in _server_text(captured)
    assert "cursor=abc" not in _server_text(captured)


def test_format_follows_the_terminal() -> None:
    primary, secondary = os.openpty()
    with os.fdopen(secondary, "w") as tty, os.fdopen(primary, "rb", buffering=0):
        assert resolve_format(None, tty) == "console"
        assert resolve_format("json", tty) == "json"
    assert resolve_format(None, io.StringIO()) == "json"
    assert resolve_format("console", io.StringIO()) == "console"


def test_console_lines_are_readable_and_uncoloured(captured: io.StringIO) -> None:
    buffer = io.StringIO()
    configure_logging("INFO", "console", stream=buffer)
    logging.getLogger("uvicorn.error").info(
        "Started server process [%d]", 42, extra={"color_message": "Started \x1b[36m%d\x1b[0m"}
    )
    with component_logging("sync hub"):
        logging.getLogger("mechamental.sync").warning("publishing failed")
    first, second = buffer.getvalue().splitlines()
    assert "INFO    uvicorn.error: Started server process [42]" in first
    assert "\x1b" not in first and "color_message" not in first
    assert second.endswith("WARNING mechamental.sync: publishing failed component=sync hub")
