"""Bucket provisioning benchmark against a moto S3 server (run by hand).

Usage: .venv/bin/python bench/buckets_bench.py [--backend sqlite|postgres] [--count 500]
       [--concurrency 16] [--processes 1,2] [--rounds 1]

For 1 and then 2 server processes (`mechamental serve --workers N`), on a fresh database
each time: create COUNT workspaces as fast as the API accepts them (CONCURRENCY requests
in flight), once with RUN_WORKER=false and once with the in-process bucket worker on.
Reports create p50/p99, the p99 ratio (worker on / off, target <= 1.2x), and the time from
the first create until every bucket is `active`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
from sqlalchemy import func, select

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database
from mechamental.migrations import upgrade
from mechamental.tables import workspaces

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}  # fmt: skip


@dataclass
class Run:
    """The figures of one server run."""

    processes: int
    worker: bool
    p50: float
    p99: float
    create_seconds: float
    all_active_seconds: float | None


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    """Wait until `url` answers."""
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited")
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start")


def start_moto() -> tuple[subprocess.Popen[bytes], str]:
    """A moto S3 server on a free port."""
    port = free_port()
    # The store stands in for a remote service: niced, so its CPU is not the API's.
    proc = subprocess.Popen(
        ["nice", "-n", "15", str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_http(f"{url}/moto-api/", proc, "moto")
    return proc, url


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def fresh_database(backend: str, data_dir: Path) -> tuple[str, str | None]:
    """A new empty database; returns (url, postgres name to drop)."""
    if backend == "sqlite":
        return f"sqlite:///{data_dir / 'bench.db'}", None
    name = f"mm_bbench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", name


async def seed(url: str) -> tuple[str, str]:
    """An org and an owner token."""
    db = Database(url)
    try:
        async with db.transaction() as conn:
            org = await tokens.create_org(conn, name="bench", org_id="bench")
            issued = await tokens.create_token(conn, org_id=org, user_id="bench", role=Role.OWNER)
    finally:
        await db.dispose()
    return org, issued.secret


async def count_active(db: Database, org: str) -> int:
    """How many of the org's buckets are active."""
    async with db.reader() as conn:
        query = select(func.count()).where(
            workspaces.c.org_id == org, workspaces.c.bucket_status == "active"
        )
        return int((await conn.execute(query)).scalar_one())


async def create_many(
    base: str, org: str, token: str, count: int, concurrency: int, tag: str, rate: float = 0
) -> tuple[list[float], float]:
    """POST `count` workspaces; (latencies in ms, wall seconds).

    Closed loop (`rate` 0): `concurrency` requests in flight, each sent when one returns,
    as fast as the API accepts them. Open loop: one request every 1/`rate` seconds.
    """
    url = f"{base}/v1/orgs/{org}/workspaces"
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []

    async def one(session: aiohttp.ClientSession, i: int) -> None:
        began = time.perf_counter()
        async with session.post(url, json={"name": f"{tag} {i}"}, headers=headers) as resp:
            await resp.read()
            if resp.status != 201:
                raise SystemExit(f"create answered {resp.status}")
        latencies.append((time.perf_counter() - began) * 1000)

    connector = aiohttp.TCPConnector(limit=concurrency if not rate else 256)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        if rate:
            tasks = []
            for i in range(count):
                await asyncio.sleep(max(0.0, began + i / rate - time.perf_counter()))
                tasks.append(asyncio.create_task(one(session, i)))
            await asyncio.gather(*tasks)
        else:
            remaining = iter(range(count))

            async def client() -> None:
                for i in remaining:
                    await one(session, i)

            await asyncio.gather(*(client() for _ in range(concurrency)))
        return latencies, time.perf_counter() - began


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def measure(base: str, url: str, org: str, token: str, args: argparse.Namespace,
                  worker: bool) -> tuple[list[float], float, float | None]:  # fmt: skip
    """Warm up, then the timed burst; with the worker, also wait until all are active."""
    db = Database(url)
    try:
        await create_many(base, org, token, 50, args.concurrency, "warm-up")
        if worker:  # start from an idle worker
            while await count_active(db, org) < 50:  # noqa: ASYNC110 - polling the database
                await asyncio.sleep(0.05)
        began = time.perf_counter()
        latencies, wall = await create_many(
            base, org, token, args.count, args.concurrency, "bench", args.rate
        )
        if not worker:
            return latencies, wall, None
        total = 50 + args.count
        while await count_active(db, org) < total:
            if time.perf_counter() - began > 600:
                raise SystemExit("buckets did not all become active within 600 s")
            await asyncio.sleep(0.05)
        return latencies, wall, time.perf_counter() - began
    finally:
        await db.dispose()


def one_run(args: argparse.Namespace, moto: str, processes: int, worker: bool) -> Run:
    """Start a server on a fresh database, measure, stop it."""
    data_dir = Path(tempfile.mkdtemp(prefix="mm-bbench-"))
    url, pg_name = fresh_database(args.backend, data_dir)
    port = free_port()
    server: subprocess.Popen[bytes] | None = None
    try:
        upgrade(url)
        org, token = asyncio.run(seed(url))
        env = {**os.environ, **AWS,
               "MECHAMENTAL_DATABASE_URL": url, "MECHAMENTAL_DATA_DIR": str(data_dir),
               "MECHAMENTAL_LOG_LEVEL": "WARNING", "MECHAMENTAL_RATE_LIMITS": "false",
               "MECHAMENTAL_BUCKET_PROVIDER": "s3",
               "MECHAMENTAL_S3_ENDPOINT_URL": moto,
               "MECHAMENTAL_BUCKET_PREFIX": f"b{uuid.uuid4().hex[:8]}",
               "MECHAMENTAL_RUN_WORKER": "true" if worker else "false"}  # fmt: skip
        server = subprocess.Popen(
            [str(BIN / "mechamental"), "serve", "--port", str(port), "--no-migrate",
             "--workers", str(processes)],
            env=env,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/readyz", server, "server")
        latencies, wall, active = asyncio.run(measure(base, url, org, token, args, worker))
        return Run(processes, worker, statistics.median(latencies), pct(latencies, 99), wall,
                   active)  # fmt: skip
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        if pg_name:
            asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))
        shutil.rmtree(data_dir, ignore_errors=True)


def report(runs: list[Run], args: argparse.Namespace) -> None:
    """Print the table and the p99 ratios."""
    load = (
        f"open loop at {args.rate:g}/s"
        if args.rate
        else f"closed loop, {args.concurrency} in flight"
    )
    print(f"\nbackend={args.backend} count={args.count} ({load})")
    print(f"{'procs':>5} {'worker':>7} {'p50 ms':>8} {'p99 ms':>8} {'creates/s':>10} "
          f"{'all active s':>13}")  # fmt: skip
    for r in runs:
        active = f"{r.all_active_seconds:.1f}" if r.all_active_seconds is not None else "-"
        rate = args.count / r.create_seconds
        print(f"{r.processes:>5} {('on' if r.worker else 'off'):>7} {r.p50:>8.2f} "
              f"{r.p99:>8.2f} {rate:>10.0f} {active:>13}")  # fmt: skip
    for procs in sorted({r.processes for r in runs}):
        on = [r.p99 for r in runs if r.processes == procs and r.worker]
        off = [r.p99 for r in runs if r.processes == procs and not r.worker]
        if on and off:
            ratio = statistics.median(on) / statistics.median(off)
            verdict = "ok" if ratio <= 1.2 else "OVER 1.2x"
            print(f"{procs} process(es): create p99 worker on / off = {ratio:.2f}x ({verdict})")


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--rate", type=float, default=0, help="open loop: creates per second")
    args = parser.parse_args()
    moto, moto_url = start_moto()
    runs: list[Run] = []
    try:
        for procs in (int(p) for p in args.processes.split(",")):
            for _ in range(args.rounds):
                for worker in (False, True):
                    runs.append(one_run(args, moto_url, procs, worker))
                    r = runs[-1]
                    print(f"  procs={procs} worker={worker}: p99 {r.p99:.2f} ms", flush=True)
    finally:
        moto.terminate()
        moto.wait(10)
    report(runs, args)


if __name__ == "__main__":
    main()
