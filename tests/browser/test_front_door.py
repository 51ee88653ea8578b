"""The front door in real Chromium: a page on another loopback origin against `mechamental serve`.

The browser part is tests/browser/front_door.mjs (playwright-core from npm driving Debian's
chromium); this test starts the server, makes the org and keys, runs it and checks what the
page saw. Without node, its packages or chromium the test skips, except under CI=true
where it fails (.ci/run installs them).
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database
from tests.conftest import create_tenant
from tests.sync.procs import free_port, lone_server
from tests.tools import CHROMIUM, require_browser

HERE = Path(__file__).resolve().parent
pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


async def test_a_page_on_another_origin_uses_tickets_presence_etags_and_sees_revocation(
    database_url: str, tmp_path: Path
) -> None:
    node = require_browser()
    page_port = free_port()
    page_origin = f"http://127.0.0.1:{page_port}"
    db = Database(database_url)
    try:
        tenant = await create_tenant(db, "browser")
        async with db.transaction() as conn:
            key = await tokens.create_token(
                conn, org_id=tenant.org_id, user_id="browser-user", role=Role.MEMBER
            )
            spare = await tokens.create_token(
                conn,
                org_id=tenant.org_id,
                user_id="browser-user",
                role=Role.MEMBER,
                expires_in=timedelta(hours=1),
            )
    finally:
        await db.dispose()
    async with lone_server(database_url, tmp_path, MECHAMENTAL_CORS_ORIGINS=page_origin) as proc:
        async with httpx.AsyncClient(base_url=proc.url, timeout=20) as client:
            created = await client.post(
                tenant.base, json={"name": "shared"}, headers=tenant.headers()
            )
            assert created.status_code == 201, created.text
            workspace_id = created.json()["workspace_id"]
        config = {
            "api": proc.url,
            "org": tenant.org_id,
            "workspace": workspace_id,
            "pagePort": page_port,
            "key": key.secret,
            "keyId": key.id,
            "spareKey": spare.secret,
            "ownerKey": tenant.tokens["owner"],
        }
        run = await asyncio.create_subprocess_exec(
            node,
            str(HERE / "front_door.mjs"),
            env={
                **os.environ,
                "MECHAMENTAL_BROWSER_CONFIG": json.dumps(config),
                "CHROMIUM": CHROMIUM,
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(run.communicate(), 240)
    assert run.returncode == 0, err.decode()[-4000:]
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen["connected"] == workspace_id
    assert seen["members"] == [["browser-user", 1]]
    assert seen["stale"] == {"status": 412, "error": "PRECONDITION_FAILED"}
    assert seen["changes"] == [{"name": "from the browser"}]
    assert seen["unauthorized"] == {"reason": "token_revoked"}
    assert seen["resumed"] is True
    assert seen["afterResume"] == [{"name": "while away"}]
