"""The heartbeat watchdog of both Python clients against a real `mechamental serve`: a server
that stops answering (SIGSTOP: the connection stays open, nothing more arrives) is given up
on after its heartbeat allowance, and the stream resumes once it answers again.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from mechamental_client import Event, MechaMental, Status

from tests.clients_python.live import KINDS, Consumer, Kind, new_tenant, until, updated_names
from tests.sync.procs import lone_server

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.parametrize("kind", KINDS),
]
# Heartbeats every second: the clients' watchdog then allows 2 * 1 + 5 seconds of silence.
QUICK = {"MECHAMENTAL_HEARTBEAT_SECONDS": "1", "MECHAMENTAL_RETRY_MS": "200"}


async def test_a_silent_server_is_given_up_on_and_resumed(
    kind: Kind, database_url: str, tmp_path: Path
) -> None:
    tenant = await new_tenant(database_url)
    token = await tenant.key("py-user")
    async with lone_server(database_url, tmp_path, **QUICK) as server:
        with MechaMental(server.url, tenant.org_id, token=token) as plain:
            ws = await asyncio.to_thread(plain.create, {"name": "quiet"})
            consumer = Consumer(kind, server.url, tenant.org_id, token, ws.workspace_id).start()
            await until(lambda: consumer.live, "the stream is open")
            await asyncio.to_thread(plain.update, ws.workspace_id, {"name": "before"})
            await until(lambda: updated_names(consumer.items) == ["before"], "before")
            last = consumer.items[-1].id
            server.signal(signal.SIGSTOP)
            try:
                # Nothing closes the connection: only the watchdog ends the wait.
                await until(lambda: not consumer.live, "the watchdog gave up on the stream")
            finally:
                server.signal(signal.SIGCONT)
            await until(lambda: consumer.live, "the stream is open again")
            await asyncio.to_thread(plain.update, ws.workspace_id, {"name": "after"})
            await asyncio.to_thread(plain.delete, ws.workspace_id)
            items = await consumer.finished()
    assert updated_names(items) == ["before", "after"]
    assert isinstance(items[-1], Event) and items[-1].type == "workspace.deleted"
    assert consumer.opened_from[0] is None and consumer.opened_from[-1] == last
    assert Status.RECONNECTING in consumer.statuses
