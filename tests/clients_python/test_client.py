"""The Python client (clients/python) and `mechamental watch` against a real `mechamental serve`.

The sync client blocks, so the async tests run it in a thread; nothing of ours is mocked.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from pathlib import Path

import pytest
from mechamental_client import (
    AsyncMechaMental,
    ConflictError,
    Event,
    MechaMental,
    NotFoundError,
    Reset,
    ValidationError,
)

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database
from tests.conftest import create_tenant
from tests.sync.procs import MECHAMENTAL, lone_server

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]
WAIT = 60.0  # a bound on waiting for events, never a measurement


async def _tenant(database_url: str) -> tuple[str, str]:
    db = Database(database_url)
    try:
        tenant = await create_tenant(db, "pyclient")
        async with db.transaction() as conn:
            issued = await tokens.create_token(
                conn, org_id=tenant.org_id, user_id="py-user", role=Role.ADMIN
            )
    finally:
        await db.dispose()
    return tenant.org_id, issued.secret


async def test_crud_pages_idempotency_conflicts_and_errors(
    database_url: str, tmp_path: Path
) -> None:
    org, token = await _tenant(database_url)
    async with lone_server(database_url, tmp_path) as server:
        async with AsyncMechaMental(server.url, org, token=token) as client:
            made = [await client.create({"name": f"ws-{i}", "tags": ["t"]}) for i in range(5)]
            listed = [w.workspace_id async for w in client.list(page_size=2)]
            assert sorted(listed) == sorted(w.workspace_id for w in made)
            assert [w.name async for w in client.list(q="ws-3")] == ["ws-3"]
            again = await client.create({"name": "once"}, idempotency_key="k-1")
            twice = await client.create({"name": "once"}, idempotency_key="k-1")
            assert again.workspace_id == twice.workspace_id
            first = await client.get(made[0].workspace_id)
            assert first.etag
            changed = await client.update(first.workspace_id, {"name": "renamed"})
            assert changed.name == "renamed"
            with pytest.raises(ConflictError) as conflict:
                await client.update(first.workspace_id, {"name": "x"}, if_match=first.etag)
            assert conflict.value.status == 412 and conflict.value.request_id
            with pytest.raises(ValidationError) as invalid:
                await client.create({"name": ""})
            assert invalid.value.status == 422 and invalid.value.errors
            await client.delete(first.workspace_id)
            with pytest.raises(NotFoundError) as missing:
                await client.get(first.workspace_id)
            assert missing.value.code and missing.value.status == 404
        with MechaMental(server.url, org, token=token) as sync_client:
            assert len(list(sync_client.list(page_size=2))) == 5


async def test_sync_resumes_across_a_restart_and_a_refused_token(
    database_url: str, tmp_path: Path
) -> None:
    org, token = await _tenant(database_url)
    asked: list[int] = []

    def credential() -> str:
        asked.append(1)
        return "mm_refused" if len(asked) == 1 else token

    async with lone_server(database_url, tmp_path) as server:
        plain = MechaMental(server.url, org, token=token)
        ws = await asyncio.to_thread(plain.create, {"name": "live"})
        seen: list[Event | Reset] = []
        client = MechaMental(server.url, org, token=credential)

        def consume() -> None:
            for event in client.sync(ws.workspace_id, last_event_id=None):
                seen.append(event)
                if isinstance(event, Event) and event.type == "workspace.deleted":
                    return

        worker = threading.Thread(target=consume, daemon=True)
        worker.start()
        await _until(lambda: any(e.type == "presence.joined" for e in seen) or bool(seen), 5)
        for i in range(3):
            await asyncio.to_thread(plain.update, ws.workspace_id, {"name": f"a{i}"})
        await _until(lambda: _names(seen) == ["a0", "a1", "a2"], WAIT)
        await server.kill()
        await server.start()
        for i in range(3):
            await asyncio.to_thread(plain.update, ws.workspace_id, {"name": f"b{i}"})
        await asyncio.to_thread(plain.delete, ws.workspace_id)
        await asyncio.to_thread(worker.join, WAIT)
        assert not worker.is_alive()
        assert _names(seen) == ["a0", "a1", "a2", "b0", "b1", "b2"]
        ids = [e.id for e in seen if e.id]
        assert len(ids) == len(set(ids))
        assert len(asked) >= 2  # the refused credential made it ask again
        plain.close()
        client.close()


async def test_presence_joins_and_leaves_and_watch_prints_json(
    database_url: str, tmp_path: Path
) -> None:
    org, token = await _tenant(database_url)
    async with lone_server(database_url, tmp_path) as server:
        client = MechaMental(server.url, org, token=token)
        ws = await asyncio.to_thread(client.create, {"name": "watched"})
        watcher = subprocess.Popen(  # noqa: ASYNC220
            [MECHAMENTAL, "watch", ws.workspace_id, "--org", org, "--url", server.url, "--json"],
            env={"MECHAMENTAL_TOKEN": token, "PATH": "/usr/bin:/bin"},
            stdout=subprocess.PIPE,
            text=True,
        )
        try:

            def present() -> list[str]:
                return [m["user_id"] for m in client.members(ws.workspace_id)]

            with client.presence(ws.workspace_id):
                assert "py-user" in await asyncio.to_thread(present)
            assert "py-user" not in await asyncio.to_thread(present)
            assert watcher.stdout is not None
            printed: list[str] = []

            def read() -> None:
                assert watcher.stdout is not None
                for line in watcher.stdout:
                    printed.append(line)

            reader = threading.Thread(target=read)
            reader.start()
            # The watcher connects when its process is up: change until it has printed.
            deadline = time.monotonic() + WAIT
            while not printed and time.monotonic() < deadline:
                name = f"seen-{time.monotonic_ns()}"  # a change each time (same name: no event)
                await asyncio.to_thread(client.update, ws.workspace_id, {"name": name})
                await asyncio.sleep(0.2)
            await asyncio.to_thread(client.delete, ws.workspace_id)
            await asyncio.to_thread(reader.join, WAIT)
            await asyncio.to_thread(watcher.wait, WAIT)
            lines = [json.loads(line) for line in printed]
            types = [line["type"] for line in lines]
            assert "workspace.updated" in types and types[-1] == "workspace.deleted"
            assert watcher.returncode == 0
        finally:
            watcher.kill()
            client.close()


def _names(seen: list[Event | Reset]) -> list[str]:
    return [
        str(e.data.get("name", e.data.get("workspace", {}).get("name")))
        for e in seen
        if isinstance(e, Event) and e.type == "workspace.updated"
    ]


async def _until(check: object, within: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.05)
