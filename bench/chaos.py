"""Chaos run (issue 12 item 7): two API processes, PostgreSQL, Redis and S3 under faults.

Usage: .venv/bin/python bench/chaos.py [--seconds 300] [--seed N] [--streams 1000]
                                       [--workspaces 100] [--write-rate 50] [--keep]

Starts a private cluster (bench/chaos_cluster.py: PostgreSQL from initdb, Redis, moto behind
a fault-injecting TCP proxy, two `mechamental serve --no-migrate`, one `mechamental worker`),
then the load generator in its own process (bench/chaos_load.py: 1,000 EventSource-like
streams over 100 workspaces, 50 writes/s, presence calls). While it runs, this driver
injects one fault at a time at random intervals: SIGKILL of an API process (restarted),
a Redis restart (its data is lost), a PostgreSQL restart (fast or immediate stop), and an
S3 endpoint that fails for 20 s (refused, reset or 503). Then traffic stops, everything
settles, and bench/chaos_verify.py proves the outcome against the database and S3.
Exits 1 on any violation. Bounded in time; loopback only; every process and the temp dir
go away on exit, Ctrl-C included (`--keep` keeps the temp dir and its logs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import resource
import signal
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import asyncpg
import boto3
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
import chaos_verify as verify
from chaos_cluster import AWS_ENV, BUCKET_PREFIX, HOST, JWT_SECRET, ORG, Cluster

FAULTS = ("kill_api", "redis", "postgres", "s3")
S3_FAULT_SECONDS = 20.0


class Driver:
    """Faults, then the proofs."""

    def __init__(self, args: argparse.Namespace, cluster: Cluster) -> None:
        self.args = args
        self.cluster = cluster
        self.rng = random.Random(args.seed)
        self.windows: list[dict[str, Any]] = []
        self.load: asyncio.subprocess.Process | None = None

    async def fault(self, kind: str) -> None:
        """Inject one fault and undo it; record its window."""
        c, rng = self.cluster, self.rng
        t0 = time.time()
        detail = ""
        if kind == "kill_api":
            i = rng.randrange(2)
            detail = f"api{i}"
            c.api_kill(i)
            await asyncio.sleep(rng.uniform(1, 4))
            await asyncio.to_thread(c.api_start, i)
        elif kind == "redis":
            sig = rng.choice([signal.SIGTERM, signal.SIGKILL])
            detail = sig.name
            await asyncio.to_thread(c.redis_stop, sig)
            await asyncio.sleep(rng.uniform(1, 4))
            await asyncio.to_thread(c.redis_start)
        elif kind == "postgres":
            detail = rng.choice(["fast", "immediate"])
            await asyncio.to_thread(c.pg_stop, detail)
            await asyncio.sleep(rng.uniform(1, 4))
            await asyncio.to_thread(c.pg_start)
        else:
            detail = rng.choice(c.proxy.MODES)
            await c.proxy.set_mode(detail)
            await asyncio.sleep(S3_FAULT_SECONDS)
            await c.proxy.set_mode("ok")
        window = {"kind": kind, "detail": detail, "t0": t0, "t1": time.time()}
        self.windows.append(window)
        print(f"  fault {kind:9} {detail:9} {window['t1'] - t0:5.1f}s", flush=True)

    async def faults(self, seconds: float) -> None:
        """Random gaps, one fault at a time, every kind in each round of four."""
        end = time.monotonic() + seconds
        kinds: list[str] = []
        while True:
            if not self.args.faults:
                break
            if not kinds:
                kinds = list(self.args.faults)
                self.rng.shuffle(kinds)
            gap = self.rng.uniform(*self.args.gap)
            if time.monotonic() + gap + S3_FAULT_SECONDS + 10 > end:
                break
            await asyncio.sleep(gap)
            await self.fault(kinds.pop())
        await asyncio.sleep(max(0.0, end - time.monotonic()))

    async def line(self, limit: float) -> str:
        assert self.load is not None and self.load.stdout is not None
        raw = await asyncio.wait_for(self.load.stdout.readline(), limit)
        if not raw:
            raise RuntimeError("the load generator exited early")
        return raw.decode().strip()

    async def bucket_settle(self, limit: float) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """Wait until S3 and the workspaces agree (or time runs out); both as they are then."""
        s3 = boto3.client("s3", endpoint_url=f"http://{HOST}:{self.cluster.moto_port}",
                          region_name="us-east-1", aws_access_key_id=AWS_ENV["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=AWS_ENV["AWS_SECRET_ACCESS_KEY"])  # fmt: skip
        deadline = time.monotonic() + limit
        while True:
            rows = await self.rows()
            listed = await asyncio.to_thread(s3.list_buckets)
            buckets = {b["Name"] for b in listed.get("Buckets", [])}
            _, bad = verify.check_buckets(rows, buckets, BUCKET_PREFIX)
            if not bad or time.monotonic() > deadline:
                return rows, buckets
            await asyncio.sleep(2)

    async def rows(self) -> dict[str, dict[str, Any]]:
        conn = await asyncpg.connect(self.cluster.dsn)
        try:
            found = await conn.fetch(
                "SELECT workspace_id, description, bucket_status, bucket_error, s3_bucket,"
                " event_seq FROM workspaces WHERE org_id = $1",
                ORG,
            )
        finally:
            await conn.close()
        return {r["workspace_id"]: dict(r) for r in found}

    async def events(self) -> dict[str, list[tuple[int, str, Any]]]:
        conn = await asyncpg.connect(self.cluster.dsn)
        try:
            found = await conn.fetch(
                "SELECT workspace_id, seq, type, data FROM events WHERE org_id = $1"
                " ORDER BY workspace_id, seq",
                ORG,
            )
        finally:
            await conn.close()
        out: dict[str, list[tuple[int, str, Any]]] = defaultdict(list)
        for r in found:
            data = json.loads(r["data"]) if isinstance(r["data"], str) else r["data"]
            out[r["workspace_id"]].append((int(r["seq"]), r["type"], data))
        return out

    async def run(self) -> int:
        args, c = self.args, self.cluster
        await c.proxy.start()
        print(f"starting the cluster in {c.dir}", flush=True)
        await asyncio.to_thread(c.start)
        cfg = {
            "org": ORG, "api_ports": c.api_ports, "jwt_secret": JWT_SECRET, "dsn": c.dsn,
            "seed": args.seed, "workspaces": args.workspaces, "streams": args.streams,
            "users_per_ws": 7, "extra_streams": 2, "write_rate": args.write_rate,
            "presence_rate": args.presence_rate, "settle_seconds": args.settle,
            "result": str(c.dir / "load-result.json"),
        }  # fmt: skip
        (c.dir / "load.json").write_text(json.dumps(cfg))
        script = str(Path(__file__).with_name("chaos_load.py"))
        self.load = await asyncio.create_subprocess_exec(
            sys.executable, script, str(c.dir / "load.json"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        assert await self.line(240) == "ready"
        print(
            f"{args.streams} streams connected; {args.seconds:.0f}s of load and faults", flush=True
        )
        await self.faults(args.seconds)
        assert self.load.stdin is not None
        self.load.stdin.write(b"quiesce\n")
        await self.load.stdin.drain()
        print("traffic stopped; settling", flush=True)
        assert await self.line(args.settle + 300) == "done"
        await self.load.wait()
        result = json.loads(await asyncio.to_thread(Path(cfg["result"]).read_text))
        rows, buckets = await self.bucket_settle(args.settle)
        events = await self.events()
        return self.report(result, rows, buckets, events)

    def report(self, result: dict[str, Any], rows: dict[str, dict[str, Any]], buckets: set[str],
               events: dict[str, list[tuple[int, str, Any]]]) -> int:  # fmt: skip
        """Print the figures and the violations; the exit status."""
        sections = [
            ("writes", *verify.check_writes(result["writes"], events, rows)),
            ("streams", *verify.check_streams(result, events)),
            ("presence", *verify.check_presence(result)),
            ("buckets", *verify.check_buckets(rows, buckets, BUCKET_PREFIX)),
            ("5xx", *verify.check_5xx(result["server_errors"], self.windows)),
        ]
        kinds = Counter(f"{w['kind']} ({w['detail']})" for w in self.windows)
        committed = sum(len(v) for v in events.values())
        cpu = result["cpu_seconds"] / result["wall_seconds"]
        print("\n== chaos run ==")
        print(f"load phase {result['wall_seconds']:.0f}s; load generator CPU {cpu:.0%} of one core")
        print(
            f"faults injected: {len(self.windows)}: "
            + ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items()))
        )
        print(f"events committed (whole log): {committed}")
        print("responses: " + ", ".join(f"{k}={n}" for k, n in sorted(result["statuses"].items())))
        failed = 0
        for name, figures, bad in sections:
            print(f"[{name}] " + ", ".join(f"{k}: {v}" for k, v in figures.items()))
            for line in bad[:25]:
                print(f"  VIOLATION {line}")
            if len(bad) > 25:
                print(f"  ... and {len(bad) - 25} more")
            failed += len(bad)
        print(f"violations: {failed}" + ("" if failed else " (all proofs hold)"))
        return 1 if failed else 0


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    """Parse, run, clean up."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--write-rate", type=float, default=50)
    parser.add_argument("--presence-rate", type=float, default=20)
    parser.add_argument(
        "--gap", type=float, nargs=2, default=(8.0, 20.0), help="seconds between faults"
    )
    parser.add_argument("--settle", type=float, default=120, help="longest wait for each settle")
    parser.add_argument(
        "--faults",
        type=lambda v: [k for k in v.split(",") if k in FAULTS],
        default=list(FAULTS),
        help="kinds to inject (comma-separated; none: '')",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    args = parser.parse_args()
    print(f"seed {args.seed}", flush=True)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    signal.signal(signal.SIGTERM, _interrupt)
    cluster = Cluster(keep=args.keep)
    driver = Driver(args, cluster)
    status = 2
    try:
        status = uvloop.run(driver.run())
    except KeyboardInterrupt:
        print("interrupted; cleaning up", flush=True)
    finally:
        if driver.load is not None and driver.load.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(driver.load.pid, signal.SIGKILL)
        cluster.close()
        if args.keep:
            print(f"(logs kept in {cluster.dir})")
    sys.exit(status)


if __name__ == "__main__":
    main()
