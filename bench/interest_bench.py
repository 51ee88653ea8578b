"""Interest-based fan-out between processes: what one process pays for another's workspaces.

Usage: .venv/bin/python bench/interest_bench.py [--workspaces 50] [--viewers 4] [--rate 500]
                                                [--seconds 20] [--before /path/to/old/tree]

Two `mechamental serve` processes on PostgreSQL (a database of its own, dropped after) and
Redis (127.0.0.1:6379, a prefix of its own). Streams of workspace set A are opened on
process 1 only, streams of set B on process 2 only. Then `--rate` updates/s of random B
workspaces are sent to process 2 for `--seconds`, after an idle period of the same length.

Reported: process 1's CPU during the B load minus its CPU while idle (what B's traffic
costs a process with no stream of B: with one Redis channel for every workspace it decoded
every frame), process 2's CPU per update, and whether every stream of B received every
update of its workspace exactly once and in order. `--before` runs the same servers from
another source tree (e.g. a worktree of the commit before interest-based fan-out; its
`src/` is put first on PYTHONPATH) and prints both. This process is the load generator;
its CPU is printed so that it can be seen not to be the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_gen import ASYNC_PG, BIN, HOST, ORG, PG, SECRET, free_port, raise_nofile, token
from sync_client import HttpClient, cpu_seconds


class Exact(asyncio.Protocol):
    """One stream: counts update events and whether their ids came in order, once each."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.last = -1
        self.updates = 0
        self.out_of_order = 0
        self.connected = False
        self.buffer = b"\n"
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        # Frames may be split across reads: parse up to the last complete one.
        self.buffer += data
        cut = self.buffer.rfind(b"\n\n")
        if cut < 0:
            return
        data, self.buffer = self.buffer[: cut + 2], self.buffer[cut + 2 :]
        start = data.find(b"\nid: ")
        while start >= 0:
            end = data.find(b"-", start)
            seq = int(data[start + 5 : end])
            kind_at = data.find(b"\nevent: ", end)
            kind = data[kind_at + 8 : data.find(b"\n", kind_at + 1)] if kind_at >= 0 else b""
            if kind == b"sync.connected":
                self.connected = True
                self.last = seq
            elif kind == b"workspace.updated":
                if seq != self.last + 1:
                    self.out_of_order += 1
                self.updates += 1
                self.last = seq
            start = data.find(b"\nid: ", end)


class Servers:
    """Two API processes of one tree on a fresh database and prefix."""

    def __init__(self, tree: Path | None, data: Path) -> None:
        self.database = f"mm_bench_interest_{uuid.uuid4().hex[:8]}"
        self.prefix = f"mmbench-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MECHAMENTAL_")}
        env.update(
            MECHAMENTAL_DATABASE_URL=f"{ASYNC_PG}/{self.database}",
            MECHAMENTAL_REDIS_URL="redis://127.0.0.1:6379/0",
            MECHAMENTAL_REDIS_PREFIX=self.prefix,
            MECHAMENTAL_DATA_DIR=str(data),
            MECHAMENTAL_JWT_SECRET=SECRET,
            MECHAMENTAL_RUN_WORKER="false",
            MECHAMENTAL_LOG_LEVEL="WARNING",
            MECHAMENTAL_RATE_LIMITS="false",
        )
        if tree is not None:
            env["PYTHONPATH"] = str(tree / "src")
        self.env = env
        self.data = data
        self.ports = [free_port(), free_port()]
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {self.database}"],
                       check=True)  # fmt: skip
        subprocess.run([str(BIN / "mechamental"), "migrate"], env=self.env, check=True)
        for i, port in enumerate(self.ports):
            log = (self.data / f"server-{i}.log").open("wb")
            command = [str(BIN / "mechamental"), "serve", "--port", str(port), "--no-migrate"]
            self.procs.append(subprocess.Popen(command, env=self.env, stdout=log, stderr=log))
        for port, proc in zip(self.ports, self.procs, strict=True):
            import socket

            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, "server exited"
                try:
                    socket.create_connection((HOST, port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(20)
        drop = f"DROP DATABASE IF EXISTS {self.database}"
        subprocess.run(["psql", f"{PG}/postgres", "-qc", drop], check=False)
        import redis  # the servers' keys under our prefix go too

        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        for key in client.scan_iter(match=f"{self.prefix}:*", count=1000):
            client.delete(key)
        client.close()


async def run_tree(args: argparse.Namespace, tree: Path | None) -> dict[str, Any]:
    """One tree's figures."""
    data = Path(tempfile.mkdtemp(prefix="mm-interest-bench-"))
    servers = Servers(tree, data)
    try:
        servers.start()
        return await measure(args, servers)
    finally:
        servers.stop()


async def measure(args: argparse.Namespace, servers: Servers) -> dict[str, Any]:
    owner = token("owner", "owner")
    headers = {"authorization": f"Bearer {owner}", "content-type": "application/json"}
    one, two = servers.ports
    http = HttpClient(HOST, one)
    sets: dict[str, list[str]] = {"A": [], "B": []}
    for name in sets:
        for i in range(args.workspaces):
            body = json.dumps({"name": f"{name}{i}"}).encode()
            status, reply = await http.request("POST", f"/v1/orgs/{ORG}/workspaces", headers, body)
            assert status == 201, reply
            sets[name].append(json.loads(reply)["workspace_id"])
    http.close()
    loop = asyncio.get_running_loop()
    streams: dict[str, list[Exact]] = {}
    for name, port in (("A", one), ("B", two)):
        for ws in sets[name]:
            for v in range(args.viewers):
                request = (
                    f"GET /v1/orgs/{ORG}/workspaces/{ws}/sync/stream HTTP/1.1\r\nhost: {HOST}\r\n"
                    f"authorization: Bearer {token(f'viewer-{v}', 'owner')}\r\n\r\n"
                ).encode()
                reader = Exact(request)
                await loop.create_connection(lambda r=reader: r, HOST, port)  # type: ignore[misc]
                streams.setdefault(ws, []).append(reader)
    deadline = time.monotonic() + 60
    while not all(r.connected for rs in streams.values() for r in rs):
        assert time.monotonic() < deadline, "streams did not connect"
        await asyncio.sleep(0.05)
    await asyncio.sleep(2.0)
    pid_one, pid_two = (p.pid for p in servers.procs)

    # Idle: what process 1 spends with its streams open and nothing happening.
    idle0 = cpu_seconds(pid_one)
    await asyncio.sleep(args.seconds)
    idle = cpu_seconds(pid_one) - idle0

    # B's load, through process 2.
    sent: dict[str, int] = {}
    clients = [HttpClient(HOST, two) for _ in range(8)]
    per_client = args.rate / len(clients)
    cpu1, cpu2, gen0 = cpu_seconds(pid_one), cpu_seconds(pid_two), time.process_time()
    wall0 = time.perf_counter()

    async def send(client: HttpClient) -> None:
        interval = 1.0 / per_client
        due = time.perf_counter()
        while time.perf_counter() - wall0 < args.seconds:
            ws = random.choice(sets["B"])
            body = json.dumps({"description": f"d{random.random()}"}).encode()
            status, _ = await client.request(
                "PUT", f"/v1/orgs/{ORG}/workspaces/{ws}", headers, body
            )
            assert status == 200
            sent[ws] = sent.get(ws, 0) + 1
            due += interval
            await asyncio.sleep(max(0.0, due - time.perf_counter()))

    await asyncio.gather(*(send(c) for c in clients))
    wall = time.perf_counter() - wall0
    loaded1, loaded2 = cpu_seconds(pid_one) - cpu1, cpu_seconds(pid_two) - cpu2
    generator = time.process_time() - gen0
    for client in clients:
        client.close()
    total = sum(sent.values())
    deadline = time.monotonic() + 30
    while any(r.updates < sent.get(ws, 0) for ws in sets["B"] for r in streams[ws]):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    lost = sum(max(0, sent.get(ws, 0) - r.updates) for ws in sets["B"] for r in streams[ws])
    extra = sum(max(0, r.updates - sent.get(ws, 0)) for ws in sets["B"] for r in streams[ws])
    disorder = sum(r.out_of_order for rs in streams.values() for r in rs)
    for readers in streams.values():
        for r in readers:
            if r.transport is not None:
                r.transport.abort()
    return {
        "updates": total,
        "rate": total / wall,
        "p1_idle_cpu_s": idle * wall / args.seconds,
        "p1_loaded_cpu_s": loaded1,
        "p1_cpu_for_B_pct_core": 100 * (loaded1 - idle * wall / args.seconds) / wall,
        "p1_us_per_B_update": 1e6 * (loaded1 - idle * wall / args.seconds) / max(total, 1),
        "p2_ms_per_update": 1e3 * loaded2 / max(total, 1),
        "generator_pct_core": 100 * generator / wall,
        "lost": lost,
        "doubled": extra,
        "out_of_order": disorder,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workspaces", type=int, default=50, help="per set (A and B)")
    parser.add_argument("--viewers", type=int, default=4, help="streams per workspace")
    parser.add_argument("--rate", type=float, default=500.0, help="updates/s on set B")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--before", type=Path, help="another source tree to compare with")
    args = parser.parse_args()
    raise_nofile()
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    if args.before is not None:
        trees.insert(0, (f"before ({args.before})", args.before))
    for label, tree in trees:
        figures = uvloop.run(run_tree(args, tree))
        print(f"\n{label}")
        for key, value in figures.items():
            print(f"  {key:24} {value:.2f}" if isinstance(value, float) else f"  {key:24} {value}")


if __name__ == "__main__":
    main()
