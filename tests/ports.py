"""Loopback ports for the servers tests start, one range per test process.

`bind(("127.0.0.1", 0))` hands out a port from the kernel's ephemeral range, which every
process shares: under pytest-xdist another worker's server (or any outgoing connection)
could take it between our check and the server's own bind ("address already in use").
Each test process takes ports from its own range instead, below the ephemeral range; the
block of ranges depends on the run too (`PYTEST_XDIST_TESTRUNUID`), so two runs side by
side on one machine rarely share one.
"""

from __future__ import annotations

import itertools
import os
import socket
import zlib

_SPAN = 500
_BASE = 10000
_RANGES = 44  # 10000..32000: below 32768, where Linux's ephemeral ports start
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... (unset: one process)
_RUN = zlib.crc32(os.environ.get("PYTEST_XDIST_TESTRUNUID", "").encode())
_next = itertools.count()


def free_port() -> int:
    """A loopback port nobody listens on right now: of this worker's range under xdist,
    else one the kernel picks (a lone process, a benchmark)."""
    if _WORKER is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    index = (_RUN + int(_WORKER.removeprefix("gw") or 0)) % _RANGES
    base = _BASE + index * _SPAN
    for _ in range(_SPAN):
        port = base + next(_next) % _SPAN
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free loopback port in {base}..{base + _SPAN}")
