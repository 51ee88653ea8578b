"""Presence webhooks across processes: one user with a tab on each of two `serve`
processes (Redis) is one `presence.joined` and, after the last tab, one `presence.left`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.procs import FAST, ServerProcess, create_ws, launch, server_env, stream_on
from tests.webhooks.conftest import Receiver
from tests.webhooks.test_processes import ENV, _hook

pytestmark = pytest.mark.timeout(900)


# Several processes share one database only on a server: PostgreSQL alone.
@pytest.mark.parametrize("backend", ["postgres"])
async def test_one_user_on_two_processes_is_one_join_and_one_leave(
    backend: str,
    tenant_db: Tenant,
    database_url: str,
    redis_url: str,
    prefix: str,
    procs: list[ServerProcess],
    tmp_path: Path,
    receivers: Any,
) -> None:
    env = server_env(
        database_url=database_url,
        data_dir=tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        **FAST,
        **ENV,
    )
    a = await launch(procs, env, tmp_path)
    b = await launch(procs, env, tmp_path)
    tenant = tenant_db
    receiver: Receiver = await receivers()
    await _hook(a.url, tenant, receiver, ["presence.*"])
    user = tenant.users["member"]

    async def types() -> list[str]:
        return receiver.types()

    async with httpx.AsyncClient(timeout=20) as client:
        ws_id = await create_ws(client, a, tenant)
        tabs = []
        for proc in (a, b):  # one tab on each process, each announcing itself
            tab = await stream_on(proc, tenant, ws_id, "member")
            await tab.next()
            tabs.append(tab)
            joined = await client.post(
                f"{proc.url}{tenant.base}/{ws_id}/sync/presence/join",
                headers=tenant.headers("member"),
            )
            assert joined.status_code == 200, joined.text
        await eventually(types, lambda t: t == ["presence.joined"])
        tabs[0].close()  # the tab on A goes: the user is still here through B

        async def connections() -> list[int]:
            response = await client.get(
                f"{b.url}{tenant.base}/{ws_id}/sync/presence", headers=tenant.headers()
            )
            return [m["connections"] for m in response.json()["members"]]

        await eventually(connections, lambda c: c == [1])
        tabs[1].close()
        await eventually(types, lambda t: t == ["presence.joined", "presence.left"], within=30)
    left = receiver.requests[-1].verified
    assert left["data"]["user_id"] == user
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 2
