"""The committed dashboard (src/mechamental/static/ui) is what `make ui` builds from its sources.

`make run` serves the committed files, so a fresh clone needs no Node; this rebuilds them from
ui/dashboard and clients/typescript/src (esbuild and tsc pinned by ui/dashboard's lockfile)
and fails when any differs: after changing either, run `make ui`. And `GET /ui/session`, which
tells the page whose key it holds.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from mechamental.app import create_app
from tests.conftest import create_tenant, make_settings
from tests.tools import require_node

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "ui" / "dashboard"
COMMITTED = ROOT / "src" / "mechamental" / "static" / "ui"


def test_the_committed_dashboard_is_built_from_its_sources(tmp_path: Path) -> None:
    node = require_node(SOURCES)
    subprocess.run(
        [str(SOURCES / "node_modules" / ".bin" / "tsc"), "-p", str(SOURCES / "tsconfig.json")],
        check=True,
    )
    subprocess.run(
        [node, str(SOURCES / "build.mjs")],
        env={**os.environ, "UI_ASSETS_OUT": str(tmp_path)},
        check=True,
    )
    names = sorted(p.name for p in COMMITTED.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), (
            f"{name} differs from its sources: run `make ui`"
        )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_session_names_the_keys_org_and_user(database_url: str, tmp_path: Path) -> None:
    app = create_app(make_settings(database_url, tmp_path, ui=True))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
    ):
        tenant = await create_tenant(app.state.services.db, "ui")
        known = await client.get("/ui/session", headers=tenant.headers("member"))
        refused = await client.get("/ui/session", headers={"Authorization": "Bearer mm_nope"})
        anonymous = await client.get("/ui/session")
    assert known.status_code == 200
    assert known.json() == {
        "org_id": tenant.org_id,
        "user_id": tenant.users["member"],
        "role": "member",
    }
    assert known.headers["cache-control"] == "no-store"
    assert refused.status_code == 401 and anonymous.status_code == 401
    assert refused.json()["error"] == anonymous.json()["error"]
