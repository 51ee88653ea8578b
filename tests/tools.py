"""Outside tools some tests need (node, npm packages, Chromium), in one place.

A missing tool skips the test on a developer's machine and fails it under CI=true, where
`.ci/run` installs everything (a missing dependency there is a defect, never a skip).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import IN_CI

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
PLAYWRIGHT = ROOT / "tests" / "browser" / "node_modules" / "playwright-core"
TS_CLIENT = ROOT / "clients" / "typescript"


def require_tools(needs: Mapping[str, bool]) -> None:
    """Skip (fail under CI=true) naming every entry of `needs` that is False."""
    missing = [what for what, present in needs.items() if not present]
    if not missing:
        return
    message = f"this test needs: {', '.join(missing)}"
    if IN_CI:
        pytest.fail(message + " (required under CI=true)")
    pytest.skip(message)


def require_node(*npm_dirs: Path) -> str:
    """The node binary, and each directory's `npm ci` done (its node_modules present)."""
    node = shutil.which("node")
    needs = {"node": node is not None}
    for directory in npm_dirs:
        needs[f"{directory.relative_to(ROOT)}/node_modules (npm ci)"] = (
            directory / "node_modules"
        ).is_dir()
    require_tools(needs)
    assert node is not None
    return node


def require_browser(*npm_dirs: Path) -> str:
    """Node with playwright-core (tests/browser) and Chromium; returns the node binary."""
    node = require_node(ROOT / "tests" / "browser", *npm_dirs)
    require_tools({"playwright-core": PLAYWRIGHT.is_dir(), CHROMIUM: Path(CHROMIUM).exists()})
    return node


def build_ts_client(node: str) -> None:
    """Compile the TypeScript client (src/ to dist/) once per change, under a file lock:
    xdist workers share the tree."""
    with (TS_CLIENT / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sources = [p.stat().st_mtime for p in (TS_CLIENT / "src").rglob("*.ts")]
        stamp = TS_CLIENT / "dist" / ".built"
        if stamp.exists() and stamp.stat().st_mtime >= max(sources):
            return
        tsc = TS_CLIENT / "node_modules" / "typescript" / "bin" / "tsc"
        built = subprocess.run(
            [node, str(tsc), "-p", "tsconfig.json"], cwd=TS_CLIENT, capture_output=True, text=True
        )
        assert built.returncode == 0, built.stdout + built.stderr
        stamp.touch()
