"""Presence webhooks fire on a user's transitions only, never per connection or tab."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.conftest import Server, new_workspace, presence
from tests.webhooks.conftest import Receiver, create_webhook


async def _types(receiver: Receiver) -> list[str]:
    return receiver.types()


async def test_two_tabs_one_joined_one_left(
    server: Server,
    client: httpx.AsyncClient,
    tenant: Tenant,
    receivers: Any,
) -> None:
    receiver: Receiver = await receivers()
    await create_webhook(client, tenant, receiver, event_types=["presence.joined", "presence.left"])
    ws = await new_workspace(client, tenant)
    hub = server.hub
    tabs = []
    for _ in range(2):  # two tabs of one user: each opens a stream and announces itself
        tab = await server.stream(tenant, ws, "member")
        await tab.next()
        tabs.append(tab)
        await presence(client, tenant, ws, "join", "member")
    await eventually(lambda: _types(receiver), lambda t: t == ["presence.joined"])
    hub.clock.advance(hub.presence.ttl * 3)  # open streams hold the user past the TTL
    await hub.presence.sweep()
    tabs[0].close()
    hub.clock.advance(hub.presence.grace * 2)
    await hub.presence.sweep()
    assert receiver.types() == ["presence.joined"]  # one tab left: still present
    tabs[1].close()
    await eventually(lambda: _streams(hub, ws, tenant.users["member"]), lambda n: n == 0)
    hub.clock.advance(hub.presence.grace + 1)
    await hub.presence.sweep()
    await eventually(lambda: _types(receiver), lambda t: t == ["presence.joined", "presence.left"])
    body = receiver.requests[-1].verified
    assert body["data"]["user_id"] == tenant.users["member"]


async def _streams(hub: Any, ws: str, user: str) -> int:
    await hub.presence.flush()
    return int(hub.presence.open_streams(ws, user))
