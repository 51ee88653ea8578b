"""The TypeScript client's tests (clients/typescript/test, node's test runner) in the suite.

Each node test file starts its own `mechamental serve` (own DATA_DIR) and runs here as one
pytest test, so xdist spreads them; ports come from tests/ports.py. The client is compiled
once per run (tsc, under a file lock: xdist workers share the tree). Without node or the
package's node_modules the tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ports import free_port
from tests.tools import TS_CLIENT, build_ts_client, require_node

PACKAGE = TS_CLIENT
TESTS = sorted(p.name for p in (PACKAGE / "test").glob("*.test.mjs"))
pytestmark = pytest.mark.timeout(300)


@pytest.mark.parametrize("name", TESTS)
def test_typescript_client(name: str) -> None:
    node = require_node(PACKAGE)
    build_ts_client(node)
    env = {
        **os.environ,
        "MM_TEST_PORTS": ",".join(str(free_port()) for _ in range(4)),
        "MECHAMENTAL_BIN": str(Path(sys.executable).with_name("mechamental")),
        "MECHAMENTAL_PYTHON": sys.executable,
    }
    run = subprocess.run(
        [node, "--test", "--test-reporter=spec", f"test/{name}"],
        cwd=PACKAGE,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    assert "# fail 0" in run.stdout or "fail 0" in run.stdout, run.stdout[-3000:]
