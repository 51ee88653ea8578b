"""`/docs` and `/redoc` render in real Chromium offline: their assets come from the package.

FastAPI's defaults load Swagger UI and ReDoc from a CDN (a blank page offline). The browser part
is tests/ui/docs_offline.mjs, which aborts every request to another host. Without node,
playwright-core or chromium the browser test skips, except under CI=true where it fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.sync.procs import lone_server
from tests.tools import CHROMIUM, require_browser, require_node

HERE = Path(__file__).resolve().parent
pytestmark = [pytest.mark.timeout(300)]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_docs_and_redoc_render_their_operations_with_other_hosts_unreachable(
    database_url: str, tmp_path: Path
) -> None:
    node = require_browser()
    token = "mm_not_checked_by_the_sign_in_page"
    async with lone_server(database_url, tmp_path, MECHAMENTAL_UI="true") as proc:
        async with httpx.AsyncClient(base_url=proc.url, timeout=20) as client:
            for page in ("/docs", "/redoc"):
                html = (await client.get(page)).text
                assert "cdn.jsdelivr.net" not in html and "fonts.googleapis" not in html
            paths = set((await client.get("/openapi.json")).json()["paths"])
        run = await asyncio.create_subprocess_exec(
            node,
            str(HERE / "docs_offline.mjs"),
            env={
                **os.environ,
                "MECHAMENTAL_API": proc.url,
                "MECHAMENTAL_UI_TOKEN": token,
                "CHROMIUM": CHROMIUM,
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(run.communicate(), 240)
    assert run.returncode == 0, err.decode()[-4000:]
    seen = json.loads(out.decode().strip().splitlines()[-1])
    assert seen["blocked"] == []
    assert seen["failed"] == []
    assert set(seen["swagger"]) == paths
    assert len(seen["redoc"]) > 0
    assert seen["signIn"] == {
        "stored": None,
        "url": f"{proc.url}/ui",
        "error": "This key was refused (invalid, expired or revoked).",
    }


def test_the_committed_assets_are_the_pinned_npm_packages_copied(tmp_path: Path) -> None:
    """ui/docs-assets/copy.mjs, rerun from its lockfile's packages, gives the committed files."""
    assets = HERE.parents[1] / "ui" / "docs-assets"
    committed = HERE.parents[1] / "src" / "mechamental" / "static" / "docs"
    node = require_node(assets)
    subprocess.run(
        [node, str(assets / "copy.mjs")],
        env={**os.environ, "DOCS_ASSETS_OUT": str(tmp_path)},
        check=True,
    )
    names = sorted(p.name for p in committed.iterdir())
    assert names == sorted(p.name for p in tmp_path.iterdir())
    for name in names:
        assert (tmp_path / name).read_bytes() == (committed / name).read_bytes(), name
