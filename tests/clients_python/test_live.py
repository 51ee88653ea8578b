"""Both Python clients' live streams against real `mechamental serve` processes: resume across
a server restart, `sync.reset` when the resume point is no longer kept, and a refused or
revoked credential replaced through the token callable. Nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from mechamental_client import Event, MechaMental, Reset, Status

from mechamental.db import Database
from mechamental.sync.events import log as eventlog
from tests.clients_python.live import KINDS, Consumer, Kind, new_tenant, seqs, until, updated_names
from tests.sync.procs import lone_server

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
    pytest.mark.parametrize("kind", KINDS),
]
QUICK_RETRY = {"MECHAMENTAL_RETRY_MS": "200"}  # the `retry:` hint the clients start from


async def test_resumes_across_a_server_restart_missing_nothing(
    kind: Kind, database_url: str, tmp_path: Path
) -> None:
    tenant = await new_tenant(database_url)
    token = await tenant.key("py-user")
    async with lone_server(database_url, tmp_path, **QUICK_RETRY) as server:
        with MechaMental(server.url, tenant.org_id, token=token) as plain:
            ws = await asyncio.to_thread(plain.create, {"name": "live"})
            consumer = Consumer(kind, server.url, tenant.org_id, token, ws.workspace_id).start()
            await until(lambda: consumer.live, "the stream is open")
            for i in range(3):
                await asyncio.to_thread(plain.update, ws.workspace_id, {"name": f"a{i}"})
            await until(lambda: updated_names(consumer.items) == ["a0", "a1", "a2"], "a0..a2")
            before_kill = consumer.items[-1].id
            await server.kill()
            await until(lambda: not consumer.live, "the client saw the drop")
            await server.start()  # same port, data dir and database
            # Made while the client most likely still waits out its backoff (it may come back
            # only after the delete: a resume then replays up to `workspace.deleted`).
            for i in range(3):
                await asyncio.to_thread(plain.update, ws.workspace_id, {"name": f"b{i}"})
            await asyncio.to_thread(plain.delete, ws.workspace_id)
            items = await consumer.finished()
    assert updated_names(items) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert isinstance(items[-1], Event) and items[-1].type == "workspace.deleted"
    assert not any(isinstance(i, Reset) for i in items)
    order = seqs(items)
    assert order == sorted(set(order))  # nothing twice, in the workspace's order
    # Reopened from the last event it had, not from scratch (which would not replay b0..b2).
    assert consumer.opened_from == [None, before_kill]
    assert Status.RECONNECTING in consumer.statuses
    assert consumer.statuses[-1] == Status.CLOSED


# Events are pruned as soon as they are published, matched with webhooks (the worker) and
# beyond the newest one: a resume point from before is then "no longer kept".
PRUNING = {
    "MECHAMENTAL_RUN_WORKER": "true",
    "MECHAMENTAL_WEBHOOK_POLL_SECONDS": "0.2",
    "MECHAMENTAL_RETENTION_INTERVAL_SECONDS": "0.2",
    "MECHAMENTAL_EVENT_RETENTION_COUNT": "1",
    "MECHAMENTAL_EVENT_RETENTION_SECONDS": "0",
    **QUICK_RETRY,
}


async def test_reset_surfaces_the_refetched_workspace(
    kind: Kind, own_database_url: str, tmp_path: Path
) -> None:
    # Its own database: this server prunes every workspace's history.
    tenant = await new_tenant(own_database_url)
    token = await tenant.key("py-user")
    async with lone_server(own_database_url, tmp_path, **PRUNING) as server:
        with MechaMental(server.url, tenant.org_id, token=token) as plain:
            ws = await asyncio.to_thread(plain.create, {"name": "start"})
            first = Consumer(
                kind,
                server.url,
                tenant.org_id,
                token,
                ws.workspace_id,
                stop_after=lambda items: updated_names(items) == ["r0"],
            ).start()
            await until(lambda: first.live, "the first stream is open")
            await _rename(plain, ws.workspace_id, "r0")
            seen = await first.finished()
            resume_from = [e for e in seen if isinstance(e, Event)][-1].id
            assert resume_from is not None
            for i in range(1, 5):
                await _rename(plain, ws.workspace_id, f"r{i}")
            await _until_pruned_past(own_database_url, tenant.org_id, ws.workspace_id, resume_from)

            second = Consumer(
                kind,
                server.url,
                tenant.org_id,
                token,
                ws.workspace_id,
                last_event_id=resume_from,
            ).start()
            await until(lambda: bool(second.items), "the reset arrived")
            await _rename(plain, ws.workspace_id, "after")
            await until(lambda: "after" in updated_names(second.items), "the event after it")
            plain.requests.etags.clear()
            await asyncio.to_thread(plain.delete, ws.workspace_id)
            items = await second.finished()
    reset = items[0]
    assert isinstance(reset, Reset), items
    assert reset.workspace.name == "r4" and reset.workspace.workspace_id == ws.workspace_id
    assert reset.reason == "history_expired"
    assert updated_names(items) == ["after"]  # the pruned r1..r4 are the reset, not events
    assert isinstance(items[-1], Event) and items[-1].type == "workspace.deleted"
    assert seqs(items)[0] > int(resume_from.split("-")[0])


async def _rename(client: MechaMental, workspace_id: str, name: str) -> None:
    """Change the name whatever else changed (the bucket worker moves the ETag too)."""
    client.requests.etags.pop(workspace_id, None)  # no If-Match: unconditional
    await asyncio.to_thread(client.update, workspace_id, {"name": name})


async def _until_pruned_past(url: str, org_id: str, workspace_id: str, event_id: str) -> None:
    """Wait until the events just after `event_id` are gone from the log."""
    after = int(event_id.split("-")[0]) + 1
    db = Database(url)
    try:
        oldest: int | None = None
        for _ in range(int(90 / 0.1)):
            async with db.reader() as conn:
                oldest = await eventlog.oldest_retained(
                    conn, org_id=org_id, workspace_id=workspace_id
                )
            if oldest is not None and oldest > after:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"the log still starts at {oldest}")
    finally:
        await db.dispose()


async def test_a_refused_then_revoked_credential_is_asked_again(
    kind: Kind, database_url: str, tmp_path: Path
) -> None:
    tenant = await new_tenant(database_url)
    writer = await tenant.key("writer")
    first, second = await tenant.key("py-user"), await tenant.key("py-user")
    handed = iter(["mm_refused_key", first, second])
    asked: list[str] = []

    def credential() -> str:
        asked.append(next(handed))
        return asked[-1]

    async with lone_server(database_url, tmp_path, **QUICK_RETRY) as server:
        with MechaMental(server.url, tenant.org_id, token=writer) as plain:
            ws = await asyncio.to_thread(plain.create, {"name": "keys"})
            consumer = Consumer(
                kind, server.url, tenant.org_id, credential, ws.workspace_id
            ).start()
            await until(lambda: consumer.live, "the stream is open (with the second answer)")
            assert asked == ["mm_refused_key", first]
            await asyncio.to_thread(plain.update, ws.workspace_id, {"name": "k0"})
            await until(lambda: updated_names(consumer.items) == ["k0"], "k0")
            await tenant.revoke(first)  # the open stream ends: sync.unauthorized
            await asyncio.to_thread(plain.update, ws.workspace_id, {"name": "k1"})
            await until(lambda: len(asked) == 3, "the callable was asked again")
            await asyncio.to_thread(plain.update, ws.workspace_id, {"name": "k2"})
            await asyncio.to_thread(plain.delete, ws.workspace_id)
            items = await consumer.finished()
    assert asked == ["mm_refused_key", first, second]
    assert updated_names(items) == ["k0", "k1", "k2"]
    order = seqs(items)
    assert order == sorted(set(order))
