"""Workspaces API benchmark: wrk against one uvicorn worker, ratios within one run.

Usage: .venv/bin/python bench/api_bench.py [--backend sqlite|postgres] [--duration 10] [--cors]
                                           [--metrics] [--limits]

Reports requests/s and p50/p99 for GET /healthz, GET one workspace, list (limit 50) and
create, each as a ratio to /healthz measured in the same run; then list latency on an org
with 1,000 vs 100,000 workspaces (first page and a deep page), which must stay within 1.5x.
With `--cors` the server lists an origin and every request carries it (`Origin:`), as a
browser's would: the CORS headers are on every response measured.
With `--metrics` two servers run on the same database, one serving metrics (a token, and
a scrape every second while it is measured) and one not; each endpoint is measured on
both, alternating (off, on, off, on: each run follows the other server's run, as in
`sync_bench.py`), and the table gives the on/off ratios instead. `--metrics --control`
runs the same with metrics off on both (an A/A test: the noise of the method).
With `--limits` the rate limits are on (in memory), with buckets too large to refuse: every
request measured is checked and carries the RateLimit headers. Without it they are off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert, update

from mechamental.auth import tokens
from mechamental.auth.models import organizations
from mechamental.auth.permissions import Role
from mechamental.config import Settings
from mechamental.db import Database
from mechamental.ids import new_id
from mechamental.migrations import upgrade
from mechamental.tables import workspaces
from mechamental.workspaces.cursor import Position, encode_cursor

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from sync_client import cpu_seconds  # noqa: E402

BIN = ROOT / ".venv" / "bin"


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def seed(url: str, org_id: str, count: int) -> tuple[str, str, str]:
    """Create an org with `count` workspaces; return (token, a workspace id, a deep cursor id)."""
    db = Database(url)
    start = datetime.now(UTC) - timedelta(days=1)
    async with db.transaction() as conn:
        await tokens.create_org(conn, name=org_id, org_id=org_id)
        issued = await tokens.create_token(conn, org_id=org_id, user_id="bench", role=Role.OWNER)
    batch: list[dict[str, object]] = []
    ids: list[str] = []
    for i in range(count):
        ws_id = new_id()
        ts = start + timedelta(microseconds=i * 100)
        ids.append(ws_id)
        batch.append(
            dict(
                workspace_id=ws_id,
                org_id=org_id,
                name=f"ws {i}",
                description=None,
                owner_id="bench",
                subscription_plan_id=None,
                is_active=True,
                tags=["bench"],
                region="us-east-1",
                s3_bucket=f"mm-{ws_id.replace('-', '')}",
                bucket_status="active",
                version=1,
                event_seq=1,
                created_at=ts,
                updated_at=ts,
            )
        )
        if len(batch) == 5000 or i == count - 1:
            async with db.transaction() as conn:
                await conn.execute(insert(workspaces), batch)
            batch = []
    async with db.transaction() as conn:
        await conn.execute(
            update(organizations).where(organizations.c.id == org_id).values(workspace_count=count)
        )
    await db.dispose()
    return issued.secret, ids[-1], ids[len(ids) // 20]


# With `--metrics` the server runs on core 0 and wrk on core 1 (taskset), so that neither
# takes the other's core: without it two identical servers differed by up to 17% in CPU
# per request (A/A), more than what is measured.
PIN_SERVER: list[str] = []
PIN_LOAD: list[str] = []
CORS_ORIGIN = "http://front-end.example"
EXTRA_HEADERS: list[str] = []  # `--cors` adds an Origin header


def wrk(url: str, token: str, duration: int, script: str | None = None) -> dict[str, float]:
    """Run wrk -c32 and parse requests/s, p50 and p99 (ms)."""
    cmd = [
        *PIN_LOAD,
        "wrk",
        "-t2",
        "-c32",
        f"-d{duration}s",
        "--latency",
        "-H",
        f"Authorization: Bearer {token}",
    ]
    for header in EXTRA_HEADERS:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = float(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} error responses\n{out}")

    def pct(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "requests": requests, "p50": pct("50"), "p99": pct("99")}


METRICS_TOKEN = "bench-metrics-token-" + "m" * 16


def limit_env(on: bool) -> dict[str, str]:
    """Rate limits off, or on with buckets no benchmark empties."""
    env = {"MECHAMENTAL_RATE_LIMITS": "true" if on else "false"}
    if on:
        for kind in ("REST", "STREAM", "PRESENCE"):
            for scope in ("CREDENTIAL", "ORG"):
                env[f"MECHAMENTAL_RATE_LIMIT_{kind}_{scope}_RATE"] = "1000000"
                env[f"MECHAMENTAL_RATE_LIMIT_{kind}_{scope}_BURST"] = "1000000000"
    return env


def start_server(
    url: str, data_dir: Path, port: int, cors: bool, limits: bool, *, metrics: bool = False
) -> subprocess.Popen[bytes]:
    """Start `mechamental serve` with one worker and wait for /healthz."""
    env = {
        **({"MECHAMENTAL_CORS_ORIGINS": CORS_ORIGIN} if cors else {}),
        **({"MECHAMENTAL_METRICS_TOKEN": METRICS_TOKEN} if metrics else {}),
        **os.environ,
        **limit_env(limits),
        "MECHAMENTAL_DATABASE_URL": url,
        "MECHAMENTAL_DATA_DIR": str(data_dir),
        "MECHAMENTAL_LOG_LEVEL": "WARNING",
        "MECHAMENTAL_RUN_WORKER": "false",
    }
    proc = subprocess.Popen(
        [*PIN_SERVER, str(BIN / "mechamental"), "serve", "--port", str(port), "--no-migrate"],
        env=env,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def database_url(backend: str, data_dir: Path) -> tuple[str, str | None]:
    """A fresh database for the run; returns (url, postgres db name to drop)."""
    if backend == "sqlite":
        return f"sqlite:///{data_dir / 'bench.db'}", None
    name = f"mm_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1/postgres")
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()

    asyncio.run(create())
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", name


def drop(name: str) -> None:
    """Drop the throw-away PostgreSQL database."""

    async def run() -> None:
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1/postgres")
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    asyncio.run(run())


def throughput(base: str, token: str, workspace_id: str, seconds: int, lua: Path) -> None:
    """Requests/s and latency of the four endpoints, as ratios to /healthz."""
    org = f"{base}/v1/orgs/small/workspaces"
    results = {
        "GET /healthz": wrk(f"{base}/healthz", token, seconds),
        "GET workspace": wrk(f"{org}/{workspace_id}", token, seconds),
        "list limit=50": wrk(f"{org}?limit=50", token, seconds),
        "create": wrk(org, token, seconds, str(lua)),
    }
    base_rps = results["GET /healthz"]["rps"]
    print(f"\nwrk -t2 -c32 -d{seconds}s, one uvicorn worker (uvloop, httptools)")
    print(f"{'endpoint':<16}{'req/s':>10}{'x healthz':>11}{'p50 ms':>9}{'p99 ms':>9}")
    for name, r in results.items():
        ratio = r["rps"] / base_rps
        print(f"{name:<16}{r['rps']:>10.0f}{ratio:>11.2f}{r['p50']:>9.2f}{r['p99']:>9.2f}")


class Scraper:
    """GET /metrics every second (Prometheus' default is every 15 s) while measured."""

    def __init__(self, base: str) -> None:
        self.request = urllib.request.Request(
            f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(1.0):
            with urllib.request.urlopen(self.request, timeout=10) as resp:
                resp.read()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()


def metrics_cost(
    bases: dict[str, str],
    pids: dict[str, int],
    token: str,
    workspace_id: str,
    seconds: int,
    lua: Path,
    control: bool,
    rounds: int,
) -> None:
    """Each endpoint on the server without metrics and the one with, alternating.

    Besides requests/s and p99 (noisy: wrk shares the two cores with the server), the
    server's CPU time per request, which is what metrics add and is steadier.
    """
    paths = {
        "GET /healthz": ("/healthz", None),
        "GET workspace": (f"/v1/orgs/small/workspaces/{workspace_id}", None),
        "list limit=50": ("/v1/orgs/small/workspaces?limit=50", None),
        "create": ("/v1/orgs/small/workspaces", str(lua)),
    }
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    for name, (path, script) in paths.items():
        for mode in ("off", "on") * rounds:
            scraper = Scraper(bases[mode]) if mode == "on" and not control else None
            cpu0 = cpu_seconds(pids[mode])
            try:
                result = wrk(f"{bases[mode]}{path}", token, seconds, script)
            finally:
                if scraper is not None:
                    scraper.close()
            result["cpu_us"] = (cpu_seconds(pids[mode]) - cpu0) / result["requests"] * 1e6
            runs.setdefault((name, mode), []).append(result)
    what = "A/A control (both off)" if control else "metrics on vs off"
    print(f"\n{what}: wrk -t2 -c32 -d{seconds}s, each {rounds} times, alternating, medians")
    print(f"{'endpoint':<16}{'off req/s':>11}{'on req/s':>10}{'on/off':>8}{'p99 on/off':>12}"
          f"{'cpu/req off':>13}{'on':>7}{'on/off':>8}")  # fmt: skip
    for name in paths:
        off, on = runs[(name, "off")], runs[(name, "on")]

        def median(results: list[dict[str, float]], key: str) -> float:
            return statistics.median(r[key] for r in results)

        rps_off, rps_on = median(off, "rps"), median(on, "rps")
        cpu_off, cpu_on = median(off, "cpu_us"), median(on, "cpu_us")
        print(f"{name:<16}{rps_off:>11.0f}{rps_on:>10.0f}{rps_on / rps_off:>8.3f}"
              f"{median(on, 'p99') / median(off, 'p99'):>12.3f}"
              f"{cpu_off:>10.0f} us{cpu_on:>4.0f} us{cpu_on / cpu_off:>6.3f}")  # fmt: skip


def scaling(base: str, key: bytes, orgs: dict[str, tuple[str, str]], seconds: int) -> None:
    """List p50 on a small and a big org, first page and a page 95% deep."""
    found: dict[str, tuple[float, float]] = {}
    for org, (token, deep_id) in orgs.items():
        url = f"{base}/v1/orgs/{org}/workspaces"
        first = wrk(f"{url}?limit=50", token, seconds)
        request = urllib.request.Request(
            f"{url}/{deep_id}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request) as resp:
            created = datetime.fromisoformat(json.load(resp)["created_at"])
        cursor = encode_cursor(key, org, Position(created, deep_id))
        deep = wrk(f"{url}?limit=50&cursor={cursor}", token, seconds)
        found[org] = (first["p50"], deep["p50"])
    (s_first, s_deep), (b_first, b_deep) = found["small"], found["big"]
    print("\nlist p50 (ms): org of 1,000 vs the big org (must stay within 1.5x)")
    print(f"first page  small {s_first:6.2f}  big {b_first:6.2f}  ratio {b_first / s_first:.2f}")
    print(f"deep page   small {s_deep:6.2f}  big {b_deep:6.2f}  ratio {b_deep / s_deep:.2f}")


def main() -> None:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--cors", action="store_true", help="an allowed Origin on every request")
    parser.add_argument("--metrics", action="store_true", help="metrics on vs off (ratios)")
    parser.add_argument("--limits", action="store_true", help="rate limits on (never refusing)")
    parser.add_argument("--rounds", type=int, default=4, help="with --metrics: runs per side")
    parser.add_argument(
        "--control", action="store_true", help="with --metrics: neither server has metrics (A/A)"
    )
    args = parser.parse_args()
    if args.metrics and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        PIN_SERVER[:], PIN_LOAD[:] = ["taskset", "-c", "0"], ["taskset", "-c", "1"]
    if args.cors:
        EXTRA_HEADERS.append(f"Origin: {CORS_ORIGIN}")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    data_dir = Path(tempfile.mkdtemp(prefix="mm-bench-"))
    url, pg_name = database_url(args.backend, data_dir)
    try:
        upgrade(url)
        small_token, small_ws, small_deep = asyncio.run(seed(url, "small", 1_000))
        big_token, _, big_deep = asyncio.run(seed(url, "big", args.big))
        port = free_port()
        server = start_server(url, data_dir, port, args.cors, args.limits)
        lua = data_dir / "create.lua"
        lua.write_text(
            'wrk.method = "POST"\nwrk.body = \'{"name": "bench", "tags": ["a"]}\'\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        if args.metrics:
            on_port = free_port()
            on = start_server(
                url, data_dir, on_port, args.cors, args.limits, metrics=not args.control
            )
            bases = {"off": f"http://127.0.0.1:{port}", "on": f"http://127.0.0.1:{on_port}"}
            try:
                print(f"backend={args.backend}, cors={args.cors}")
                pids = {"off": server.pid, "on": on.pid}
                metrics_cost(
                    bases,
                    pids,
                    small_token,
                    small_ws,
                    args.duration,
                    lua,
                    args.control,
                    args.rounds,
                )
            finally:
                for proc in (server, on):
                    proc.terminate()
                    proc.wait(10)
            return
        try:
            print(
                f"backend={args.backend}, big org = {args.big:,} workspaces, cors={args.cors}, "
                f"limits={args.limits}"
            )
            base = f"http://127.0.0.1:{port}"
            throughput(base, small_token, small_ws, args.duration, lua)
            key = Settings(data_dir=data_dir).resolved_secret_key()
            orgs = {"small": (small_token, small_deep), "big": (big_token, big_deep)}
            scaling(base, key, orgs, max(3, args.duration // 2))
        finally:
            server.terminate()
            server.wait(10)
    finally:
        if pg_name:
            drop(pg_name)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
