"""`@mechamental/client/react` in real Chromium, in the suite.

tests/ts_react/react_chromium.mjs bundles a small React app (esbuild, React's development
build so StrictMode mounts twice), serves it from its own loopback origin, starts its own
`mechamental serve` (CORS for that origin, metrics on) and drives Debian's chromium with
playwright-core; everything comes from clients/typescript's dev dependencies, React too
(19), and once more on React 18 (tests/ts_react/react18, a lockfile of its own). Here the
client is compiled once (as tests/ts_client does), the script runs, and what it saw is
checked. Without node, those node_modules or chromium the test skips, except under CI=true
where it fails.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.tools import CHROMIUM, TS_CLIENT, build_ts_client, require_node, require_tools

HERE = Path(__file__).resolve().parent
PACKAGE = TS_CLIENT
# The client's dev React, and the oldest the peer range (>=18) allows, from its own lockfile.
REACTS = {"19": PACKAGE / "node_modules", "18": HERE / "react18" / "node_modules"}
pytestmark = pytest.mark.timeout(300)


def _require_browser(react: Path) -> str:
    modules = PACKAGE / "node_modules"
    node = require_node(PACKAGE)
    needed = {modules / n: n for n in ("esbuild", "playwright-core", "typescript")}
    needed |= {react / n: n for n in ("react", "react-dom")}
    repo = HERE.parent.parent
    require_tools(
        {
            **{f"{path.relative_to(repo)} (npm ci)": path.is_dir() for path in needed},
            CHROMIUM: Path(CHROMIUM).exists(),
        }
    )
    return node


@pytest.mark.parametrize("react", sorted(REACTS))
def test_react_hooks_share_one_stream_and_follow_presence_viewing_and_edits(react: str) -> None:
    node = _require_browser(REACTS[react])
    build_ts_client(node)
    env = {
        **os.environ,
        "REACT_MODULES": str(REACTS[react]),
        "MM_TEST_PORTS": ",".join(str(free_port()) for _ in range(3)),
        "MECHAMENTAL_BIN": str(Path(sys.executable).with_name("mechamental")),
        "CHROMIUM": CHROMIUM,
    }
    run = subprocess.run(
        [node, str(HERE / "react_chromium.mjs")],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["aliceWorkspace"] == {"name": "shared", "status": "live", "error": None}
    assert seen["aliceOthers"] == [{"user_id": "bob", "viewing": "document/doc-1"}]
    assert seen["bobOthers"] == [{"user_id": "alice", "viewing": "document/doc-1"}]
    # StrictMode mounted each tree twice: still one handle and one stream each, no leave.
    assert seen["afterMounts"] == {
        "streams": 2,
        "opens": 2,
        "leaves": 0,
        "syncCalls": {"alice": 1, "bob": 1},
    }
    assert seen["bobOthersAfterUnview"] == [{"user_id": "alice", "viewing": None}]
    assert seen["bobAfterDelete"] == {"name": None, "status": "closed", "error": None}
    assert seen["syncCalls"] == {"alice": 1, "bob": 1}
    # The page ran the React asked for (the app and the client's hooks: one copy).
    assert seen["react"]["page"] == seen["react"]["modules"]
    assert seen["react"]["page"].split(".")[0] == react
