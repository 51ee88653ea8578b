"""Revocation latency: revoked keys end their streams on two processes sharing PostgreSQL + Redis.

Usage: .venv/bin/python bench/revocation_bench.py [--streams 1000] [--rate 50]

Starts two `mechamental serve` processes (PostgreSQL in a throw-away database, Redis under
its own prefix); this process is the load generator. Each stream is opened with its own
API key, half on each process. Keys are then revoked one at a time at `--rate` per second,
the way the CLI does it (one UPDATE, committed); the latency of a stream is from the
commit returning to its `sync.unauthorized` frame arriving (one clock: this process's).
Reports p50/p99/max, streams that never ended, and each process's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import redis
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from sync_bench import free_port, wait_ready
from sync_client import HttpClient, cpu_seconds, percentile

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


class EndWatcher(asyncio.Protocol):
    """One stream: when its `sync.unauthorized` arrived."""

    def __init__(self, request: bytes, connected: asyncio.Event) -> None:
        self.request = request
        self.connected = connected
        self.ended_at: float | None = None
        self.seen = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if not self.connected.is_set() and b"sync.connected" in data:
            self.connected.set()
        if self.ended_at is None and b"event: sync.unauthorized" in data:
            self.ended_at = time.perf_counter()


async def run(args: argparse.Namespace) -> None:
    name = f"mm_bench_rev_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    prefix = f"mmbench-{uuid.uuid4().hex[:8]}"
    data_dir = Path(tempfile.mkdtemp(prefix="mm-revbench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECHAMENTAL_")}
    env.update(
        MECHAMENTAL_ENV="test",
        MECHAMENTAL_DATABASE_URL=url,
        MECHAMENTAL_DATA_DIR=str(data_dir),
        MECHAMENTAL_SECRET_KEY="bench-secret-key-" + "k" * 32,
        MECHAMENTAL_REDIS_URL="redis://127.0.0.1:6379/0",
        MECHAMENTAL_REDIS_PREFIX=prefix,
        MECHAMENTAL_RUN_WORKER="false",
        MECHAMENTAL_LOG_LEVEL="WARNING",
        MECHAMENTAL_RATE_LIMITS="false",  # a load generator is one credential
    )
    procs: list[subprocess.Popen[bytes]] = []
    try:
        subprocess.run([BIN / "mechamental", "migrate"], env=env, check=True)  # noqa: ASYNC221  # noqa: ASYNC221 (setup)
        db = Database(url)
        async with db.transaction() as conn:
            org = await tokens.create_org(conn, name="bench")
            owner = await tokens.create_token(conn, org_id=org, user_id="owner", role=Role.OWNER)
            keys = [
                await tokens.create_token(conn, org_id=org, user_id=f"u{i}", role=Role.VIEWER)
                for i in range(args.streams)
            ]
        ports = [free_port(), free_port()]
        for port in ports:
            procs.append(
                subprocess.Popen(  # noqa: ASYNC220 (returns at once)  # noqa: ASYNC220 (returns at once)
                    [BIN / "mechamental", "serve", "--port", str(port), "--no-migrate"], env=env
                )
            )
        for port, proc in zip(ports, procs, strict=True):
            wait_ready(port, proc)
        http = HttpClient(HOST, ports[0])
        status, body = await http.request(
            "POST",
            f"/v1/orgs/{org}/workspaces",
            {"authorization": f"Bearer {owner.secret}", "content-type": "application/json"},
            b'{"name": "revocation bench"}',
        )
        assert status == 201, body
        ws_id = json.loads(body)["workspace_id"]
        loop = asyncio.get_running_loop()
        watchers: list[EndWatcher] = []
        gate = asyncio.Semaphore(100)

        async def open_one(i: int) -> None:
            path = f"/v1/orgs/{org}/workspaces/{ws_id}/sync/stream"
            request = (
                f"GET {path} HTTP/1.1\r\nhost: {HOST}\r\naccept: text/event-stream\r\n"
                f"authorization: Bearer {keys[i].secret}\r\n\r\n"
            ).encode()
            connected = asyncio.Event()
            watcher = EndWatcher(request, connected)
            async with gate:
                await loop.create_connection(lambda: watcher, HOST, ports[i % 2])
                await asyncio.wait_for(connected.wait(), 60)
            watchers.append(watcher)

        await asyncio.gather(*(open_one(i) for i in range(args.streams)))
        by_key = {}  # watchers were appended as they connected: map them back to their key
        for watcher in watchers:
            secret = watcher.request.split(b"Bearer ")[1].split(b"\r\n")[0].decode()
            by_key[secret] = watcher
        cpu_before = [cpu_seconds(p.pid) for p in procs]
        me_before = time.process_time()
        committed: dict[str, float] = {}
        interval = 1.0 / args.rate
        started = time.perf_counter()
        for n, key in enumerate(keys):
            async with db.transaction() as conn:
                await tokens.revoke_token(conn, org_id=org, token_id=key.id)
            committed[key.secret] = time.perf_counter()
            await asyncio.sleep(max(0.0, started + (n + 1) * interval - time.perf_counter()))
        await asyncio.sleep(3)
        latencies = [
            (by_key[s].ended_at - t) * 1000 for s, t in committed.items() if by_key[s].ended_at
        ]
        missing = len(keys) - len(latencies)
        cpu = [cpu_seconds(p.pid) - c for p, c in zip(procs, cpu_before, strict=True)]
        print(f"streams {args.streams} on 2 processes, keys revoked at {args.rate}/s")
        print(
            f"revocation -> sync.unauthorized: p50 {percentile(latencies, 50):.0f} ms, "
            f"p99 {percentile(latencies, 99):.0f} ms, max {max(latencies):.0f} ms; "
            f"never ended: {missing}"
        )
        print(
            f"server CPU during revocations: {cpu[0]:.2f} s + {cpu[1]:.2f} s; "
            f"generator {time.process_time() - me_before:.2f} s"
        )
        await db.dispose()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(20)
        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50.0, help="revocations per second")
    uvloop.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
