"""Send-time refusals: the pool's connections go only to public addresses it just checked."""

from __future__ import annotations

from typing import Any

import pytest

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
