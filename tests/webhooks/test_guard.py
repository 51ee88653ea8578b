"""Send-time refusals: the pool's connections go only to public addresses it just checked."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from mechamental.webhooks import sender
from tests.webhooks.conftest import Receiver


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "10.0.0.1", "169.254.169.254"])
async def test_the_guarded_pool_refuses_private_addresses(receivers: Any, host: str) -> None:
    receiver: Receiver = await receivers()
    client = sender.make_client(allow_private=False, max_connections=4, timeout=2)
    try:
        result = await sender.post(
            client, f"http://{host}:{receiver.port}/hook", b"{}", {}, deadline=2
        )
    finally:
        await client.aclose()
    assert result.status_code is None and result.error is not None
    assert result.error.startswith("refused:"), result.error
    assert receiver.requests == []


async def test_the_open_pool_reaches_loopback(receivers: Any) -> None:
    receiver: Receiver = await receivers()
    client = sender.make_client(allow_private=True, max_connections=4, timeout=2)
    try:
        result = await sender.post(client, receiver.url, b"{}", {}, deadline=2)
    finally:
        await client.aclose()
    assert result.ok and len(receiver.requests) == 1


async def test_redirects_are_not_followed(receivers: Any) -> None:
    receiver: Receiver = await receivers()
    receiver.respond = lambda _r: 302
    client = sender.make_client(allow_private=True, max_connections=4, timeout=2)
    try:
        result = await sender.post(client, receiver.url, b"{}", {}, deadline=2)
    finally:
        await client.aclose()
    assert result.status_code == 302 and not result.ok and len(receiver.requests) == 1


async def test_an_endless_answer_is_read_only_up_to_the_cap() -> None:
    """A receiver streaming a body forever: the attempt ends at the cap, not the deadline."""

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=500)
        await response.prepare(request)
        chunk = b"x" * 1024
        while True:
            await response.write(chunk)

    app = web.Application()
    app.router.add_post("/hook", endless)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = sender.make_client(allow_private=True, max_connections=4, timeout=30)
    try:
        result = await sender.post(client, f"http://127.0.0.1:{port}/hook", b"{}", {}, deadline=30)
    finally:
        await client.aclose()
        await runner.cleanup()
    assert result.status_code == 500 and result.error is not None
    assert result.error.startswith("HTTP 500: xxx"), result.error  # not "timed out"
    assert len(result.error) <= sender.ERROR_CAP
