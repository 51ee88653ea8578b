"""Webhook fixtures: real receiving servers on loopback that verify with `standardwebhooks`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI
from standardwebhooks import Webhook

from mechamental.config import Settings
from mechamental.webhooks.worker import EXTRAS_KEY, WebhookWorker
from tests.conftest import Tenant, make_settings
from tests.sync.conftest import (  # noqa: F401  (fixtures used here too)
    prefix,
    procs,
    redis_url,
    server,
    tenant_db,
)


@dataclass
class Received:
    """One request the receiver got."""

    headers: dict[str, str]
    body: bytes
    verified: Any  # the parsed body if a secret verified it, else None


@dataclass
class Receiver:
    """An HTTP endpoint on loopback; `respond` decides each answer (status, or awaitable)."""

    secrets: list[str] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    respond: Callable[[Received], Any] = lambda _r: 200
    inflight: dict[str, int] = field(default_factory=dict)
    overlaps: int = 0
    port: int = 0

    @property
    def url(self) -> str:
        """Where to point a webhook."""
        return f"http://127.0.0.1:{self.port}/hook"

    def verify(self, body: bytes, headers: dict[str, str]) -> Any:
        """The body parsed by the first secret that verifies it, or None."""
        for secret in self.secrets:
            try:
                return Webhook(secret).verify(body, headers)
            except Exception:
                continue
        return None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        received = Received(headers, body, self.verify(body, headers))
        self.requests.append(received)
        message = headers.get("webhook-id", "")
        self.inflight[message] = self.inflight.get(message, 0) + 1
        if self.inflight[message] > 1:
            self.overlaps += 1
        try:
            answer = self.respond(received)
            if asyncio.iscoroutine(answer):
                answer = await answer
            return web.Response(status=int(answer), text="ok")
        finally:
            self.inflight[message] -= 1

    def ok_ids(self) -> list[str]:
        """`webhook-id`s of verified requests, in arrival order."""
        return [r.headers["webhook-id"] for r in self.requests if r.verified is not None]

    def types(self) -> list[str]:
        """Event types of verified requests, in arrival order."""
        return [r.verified["type"] for r in self.requests if r.verified is not None]


async def start_receiver() -> tuple[Receiver, web.AppRunner]:
    """A receiver on a free loopback port."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    listening = site._server
    assert listening is not None
    receiver.port = listening.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    return receiver, runner


@pytest.fixture
async def receivers() -> AsyncIterator[Callable[[], Any]]:
    """Make receivers; all are stopped at the end."""
    runners: list[web.AppRunner] = []

    async def make() -> Receiver:
        receiver, runner = await start_receiver()
        runners.append(runner)
        return receiver

    yield make
    for runner in runners:
        await runner.cleanup()


WEBHOOK_SETTINGS: dict[str, Any] = {
    "run_worker": True,
    "webhook_allow_private": True,
    "webhook_poll_seconds": 0.1,
}


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Extra settings a test module wants (override the fixture)."""
    return {}


@pytest.fixture
def settings(own_database_url: str, tmp_path: Path, settings_overrides: dict[str, Any]) -> Settings:
    """The app's settings: workers on, private (loopback) receivers allowed, a database of
    the test's own: these tests move the clock by days, and a shared database's leftovers
    (other tests' endpoints, long gone) would all fall due for this worker at once."""
    return make_settings(own_database_url, tmp_path, **{**WEBHOOK_SETTINGS, **settings_overrides})


def worker_of(app: FastAPI) -> WebhookWorker:
    """The app's webhook worker."""
    worker: WebhookWorker = app.state.services.extras[EXTRAS_KEY]
    return worker


async def create_webhook(
    client: httpx.AsyncClient, tenant: Tenant, receiver: Receiver | None, **body: Any
) -> dict[str, Any]:
    """POST a webhook to `receiver` (whose secrets learn its secret)."""
    if receiver is not None:
        body.setdefault("url", receiver.url)
    response = await client.post(
        f"/v1/orgs/{tenant.org_id}/webhooks", json=body, headers=tenant.headers()
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    if receiver is not None:
        receiver.secrets.append(created["secret"])
    return created


async def deliveries(
    client: httpx.AsyncClient, tenant: Tenant, webhook_id: str
) -> list[dict[str, Any]]:
    """Every delivery of the endpoint, newest first (one page of 200)."""
    response = await client.get(
        f"/v1/orgs/{tenant.org_id}/webhooks/{webhook_id}/deliveries",
        params={"limit": 200},
        headers=tenant.headers(),
    )
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["deliveries"]
    return found
