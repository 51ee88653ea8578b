"""Presence kept up by both Python clients past a short TTL, and `mechamental watch` run as a
real process against a real server: its readable lines and its `--json` lines.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import threading
from pathlib import Path

import pytest
from mechamental_client import AsyncMechaMental, Event, MechaMental

from tests.clients_python.live import KINDS, WAIT, Consumer, Kind, new_tenant, until
from tests.sync.procs import FAST, MECHAMENTAL, lone_server

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]
TTL = "3"  # seconds: PRESENCE_TTL_SECONDS of these servers
SHORT_TTL = {"MECHAMENTAL_PRESENCE_TTL_SECONDS": TTL, **FAST}


@pytest.mark.parametrize("kind", KINDS)
async def test_presence_outlives_the_ttl_and_leaves_on_exit(
    kind: Kind, database_url: str, tmp_path: Path
) -> None:
    tenant = await new_tenant(database_url)
    mine, theirs = await tenant.key("py-user"), await tenant.key("once")
    reader = await tenant.key("reader")
    async with lone_server(database_url, tmp_path, **SHORT_TTL) as server:
        with (
            MechaMental(server.url, tenant.org_id, token=reader) as watcher,
            MechaMental(server.url, tenant.org_id, token=theirs) as once,
        ):
            ws = (await asyncio.to_thread(watcher.create, {"name": "here"})).workspace_id

            def present() -> list[str]:
                return [m["user_id"] for m in watcher.members(ws)]

            async def while_present() -> None:
                assert "py-user" in await asyncio.to_thread(present)
                # Joined after py-user and never again: gone once a whole TTL has passed,
                # which py-user (joined before it) survives only by refreshing.
                await asyncio.to_thread(once.join, ws)
                expired = False
                while not expired:
                    expired = "once" not in await asyncio.to_thread(present)
                    await asyncio.sleep(0.1)
                assert "py-user" in await asyncio.to_thread(present)

            if kind == "async":
                async with AsyncMechaMental(server.url, tenant.org_id, token=mine) as client:
                    async with client.presence(ws, ttl_seconds=float(TTL)):
                        await asyncio.wait_for(while_present(), WAIT)
                        await client.view(ws, "document", "d-1")
                        viewing = [m["viewing"] for m in await client.members(ws)]
                    assert "py-user" not in await asyncio.to_thread(present)
            else:
                with MechaMental(server.url, tenant.org_id, token=mine) as blocking:
                    inside, leave = threading.Event(), threading.Event()

                    def hold() -> None:
                        with blocking.presence(ws, ttl_seconds=float(TTL)):
                            inside.set()
                            leave.wait(WAIT)

                    holder = threading.Thread(target=hold)
                    holder.start()
                    await asyncio.to_thread(inside.wait, WAIT)
                    await asyncio.wait_for(while_present(), WAIT)
                    await asyncio.to_thread(blocking.view, ws, "document", "d-1")
                    listed = await asyncio.to_thread(blocking.members, ws)
                    viewing = [m["viewing"] for m in listed]
                    leave.set()
                    await asyncio.to_thread(holder.join, WAIT)
                    assert not holder.is_alive()
                    assert "py-user" not in await asyncio.to_thread(present)
    assert {"resource_type": "document", "resource_id": "d-1"} in viewing


EVENT_ID = r"\d+-[0-9a-f]{8}"


async def test_watch_prints_readable_and_json_lines(database_url: str, tmp_path: Path) -> None:
    tenant = await new_tenant(database_url)
    writer, viewer = await tenant.key("writer"), await tenant.key("viewer")
    watching, referee = await tenant.key("watcher"), await tenant.key("referee")
    async with lone_server(database_url, tmp_path) as server:
        with (
            MechaMental(server.url, tenant.org_id, token=writer) as client,
            MechaMental(server.url, tenant.org_id, token=viewer) as other,
        ):
            ws = (await asyncio.to_thread(client.create, {"name": "watched"})).workspace_id
            args = [MECHAMENTAL, "watch", ws, "--org", tenant.org_id, "--url", server.url]
            env = {"MECHAMENTAL_TOKEN": watching, "PATH": "/usr/bin:/bin"}
            readable, as_json = _Watcher(args, env), _Watcher([*args, "--json"], env)
            reference = Consumer("sync", server.url, tenant.org_id, referee, ws).start()
            try:
                await until(lambda: readable.live and as_json.live, "both watchers are live")
                await until(lambda: reference.live, "the reference stream is live")
                await asyncio.to_thread(client.update, ws, {"name": "n1"})
                await asyncio.to_thread(client.update, ws, {"tags": ["a", "b"]})
                await asyncio.to_thread(other.view, ws, "document", "d-1")
                await asyncio.to_thread(other.leave, ws)
                await asyncio.to_thread(client.delete, ws)
                expected = await reference.finished()
                for proc in (readable, as_json):
                    assert await asyncio.to_thread(proc.wait) == 0
            finally:
                readable.kill()
                as_json.kill()
    # What writer and viewer did (the watchers' and the referee's own streams announce them too).
    events = [e for e in expected if isinstance(e, Event) and e.actor_id in ("writer", "viewer")]
    lines = [line for line in readable.lines if re.search(r" by (writer|viewer)\b", line)]
    assert len(lines) == len(events), lines
    for line, event in zip(lines, events, strict=True):
        assert "\033[" not in line  # not a terminal: no colors
        assert re.search(rf"\b{re.escape(event.type)}\s+{EVENT_ID}\s+by \S+", line), line
        assert f" {event.id} " in line and f"by {event.actor_id}" in line, line
    by_type = {e.type: line for e, line in zip(events, lines, strict=True)}
    updates = [line for line in lines if "workspace.updated" in line]
    assert updates == [
        _ending(updates[0], 'by writer changed name="n1"'),
        _ending(updates[1], 'by writer changed tags=["a", "b"]'),
    ]
    assert by_type["presence.viewing"].endswith("by viewer viewing document/d-1")
    assert "by viewer" in by_type["presence.joined"] and "by viewer" in by_type["presence.left"]
    assert lines[-1].split()[1] == "workspace.deleted"
    decoded = [json.loads(line) for line in as_json.lines]
    decoded = [d for d in decoded if d["actor_id"] in ("writer", "viewer")]
    assert [(d["type"], d["id"]) for d in decoded] == [(e.type, e.id) for e in events]
    assert decoded[0]["data"]["changes"] == {"name": "n1"}


def _ending(line: str, tail: str) -> str:
    assert line.endswith(tail), line
    return line


class _Watcher:
    """One `mechamental watch` process with its stdout lines and stderr notes collected."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.notes: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.lines)),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.notes)),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(pipe: object, into: list[str]) -> None:
        assert hasattr(pipe, "readline")
        for line in iter(pipe.readline, ""):
            into.append(line.rstrip("\n"))

    @property
    def live(self) -> bool:
        """Whether its stream is open (its status note)."""
        return "-- live" in self.notes

    def wait(self) -> int:
        """Its exit code, once its output is read to the end."""
        code = self.proc.wait(WAIT)
        for reader in self._readers:
            reader.join(WAIT)
        return code

    def kill(self) -> None:
        """Stop it if it still runs."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(WAIT)
