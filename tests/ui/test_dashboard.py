"""The /ui dashboard in real Chromium: two people on one workspace, live, across a restart.

The browser part is tests/ui/dashboard.mjs; this test owns the processes it asks for: the
server (restarted on the same data dir and port) and the bucket worker (started only when the
page has shown a pending bucket, so the change to active is seen live; a worker's events
reach the server's streams through Redis, so Redis is needed too). Without node,
playwright-core, chromium or Redis it skips, except under CI=true where it fails. Screenshots go to
a temporary folder, or to `UI_SCREENSHOTS_DIR` (`make screenshots` writes docs/).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database
from tests.sync.conftest import REDIS_URL, drop_prefix, redis_reachable
from tests.sync.procs import MECHAMENTAL, ServerProcess, server_env
from tests.tools import CHROMIUM, require_browser, require_tools

HERE = Path(__file__).resolve().parent
PNG = b"\x89PNG\r\n\x1a\n"
pytestmark = [pytest.mark.timeout(300)]


async def _keys(database_url: str) -> tuple[str, dict[str, str]]:
    """A fresh org with two people: alice (admin) and bob (member)."""
    db = Database(database_url)
    try:
        async with db.transaction() as conn:
            org_id = await tokens.create_org(
                conn, name="Acme", org_id=f"ui-{uuid.uuid4().hex[:10]}"
            )
            keys = {}
            for user, role in (("alice", Role.ADMIN), ("bob", Role.MEMBER)):
                issued = await tokens.create_token(conn, org_id=org_id, user_id=user, role=role)
                keys[user] = issued.secret
    finally:
        await db.dispose()
    return org_id, keys


def _screenshots_dir(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("UI_SCREENSHOTS_DIR") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    return shots


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_two_people_see_each_other_and_their_changes_live_across_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    node = require_browser()
    require_tools({"Redis on 127.0.0.1:6379": redis_reachable()})
    org_id, keys = await _keys(database_url)
    shots = _screenshots_dir(tmp_path)
    prefix = f"mmtest-{uuid.uuid4().hex[:12]}"
    env = server_env(
        database_url=database_url,
        data_dir=tmp_path,
        redis_url=REDIS_URL,
        prefix=prefix,
        MECHAMENTAL_UI="true",
    )
    server = await ServerProcess(env, log=tmp_path / "server.log").start()
    worker: subprocess.Popen[bytes] | None = None
    browser: asyncio.subprocess.Process | None = None
    try:
        config = {
            "api": server.url,
            "alice": keys["alice"],
            "bob": keys["bob"],
            "shots": str(shots),
        }
        browser = await asyncio.create_subprocess_exec(
            node,
            str(HERE / "dashboard.mjs"),
            env={
                **os.environ,
                "MECHAMENTAL_DASHBOARD_CONFIG": json.dumps(config),
                "CHROMIUM": CHROMIUM,
            },
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=tmp_path.joinpath("browser.log").open("wb"),
        )
        assert browser.stdin is not None and browser.stdout is not None
        last = b""
        while line := await asyncio.wait_for(browser.stdout.readline(), 120):
            last = line
            want = json.loads(line).get("want")
            if want == "worker":
                with (tmp_path / "worker.log").open("ab") as out:
                    worker = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
                        [MECHAMENTAL, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
                    )
            elif want == "restart":
                server.signal(signal.SIGTERM)
                await server.wait(60)
                await server.start()  # the same port and data dir
            else:
                continue
            browser.stdin.write(f"{want}\n".encode())
            await browser.stdin.drain()
        assert await asyncio.wait_for(browser.wait(), 60) == 0, tmp_path.joinpath(
            "browser.log"
        ).read_text()[-4000:]
    finally:
        if browser is not None and browser.returncode is None:
            browser.kill()
            await browser.wait()
        if worker is not None:
            worker.kill()
            worker.wait()
        await server.kill()
        drop_prefix(REDIS_URL, prefix)
    seen = json.loads(last)
    assert seen["offOrigin"] == []
    assert seen["signIn"] == {"url": f"{server.url}/ui", "stored": keys["alice"]}
    assert seen["who"].startswith(f"alice · admin · org {org_id}")
    assert seen["invalid"]["name"] and seen["invalid"]["nameInvalid"] == "true"
    assert "pattern" in seen["invalid"]["tags"] or "match" in seen["invalid"]["tags"]
    assert seen["createdBucket"] == "pending"
    assert seen["nameErrorAfter"] == ""
    assert seen["listed"] == ["Design review"]
    assert seen["saved"] == "Saved (description)."
    assert "1 connection" in seen["bobInAlice"] and "viewing: events tab" in seen["bobInAlice"]
    assert "alice" in seen["aliceInBob"] and "viewing: edit tab" in seen["aliceInBob"]
    _, kind, _, actor, changes = seen["bobsChange"]
    assert (kind, actor, changes) == ("workspace.updated", "bob", "name = “Design review (bob)”")
    assert "412" in seen["conflict"] and "someone changed" in seen["conflict"]
    assert seen["resaved"] == "Saved (description)."
    assert "reconnecting" in seen["states"] and seen["states"][-1] == "live"
    assert seen["afterRestart"][3:] == ["bob", "description = “After the restart”"]
    assert seen["fieldsAfter"] == "After the restart"
    assert seen["updates"] == ["bob", "alice", "bob", "alice"]
    for name in ("dashboard-list.png", "dashboard-workspace.png"):
        assert (shots / name).read_bytes().startswith(PNG)
