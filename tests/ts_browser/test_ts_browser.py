"""The TypeScript client in real Chromium: many tabs of one origin, and two users.

Each script (tests/ts_browser/*.mjs, playwright-core from tests/browser/node_modules
driving Debian's chromium) starts its own `mechamental serve` on HTTP/1.1, a site on
another loopback origin serving the compiled client (clients/typescript/dist) as ES
modules, and the browser; it exits non-zero on any failed check. The client is compiled
once per change, under the lock tests/ts_client uses. Without node, the npm packages or
chromium the tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.tools import CHROMIUM, TS_CLIENT, build_ts_client, require_browser

HERE = Path(__file__).resolve().parent
pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("script", ["many_tabs.mjs", "two_users.mjs"])
def test_typescript_client_in_chromium(script: str) -> None:
    node = require_browser(TS_CLIENT)
    build_ts_client(node)
    env = {
        **os.environ,
        "MM_TEST_PORTS": ",".join(str(free_port()) for _ in range(4)),
        "MECHAMENTAL_BIN": str(Path(sys.executable).with_name("mechamental")),
        "CHROMIUM": CHROMIUM,
    }
    run = subprocess.run(
        [node, str(HERE / script)], cwd=HERE, env=env, capture_output=True, text=True, timeout=280
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert run.stdout.strip().splitlines()[-1].endswith('"ok":true}'), run.stdout[-2000:]
