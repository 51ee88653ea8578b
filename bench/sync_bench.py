"""Sync benchmark: fan-out to N streams on one workspace, against a raw-asyncio floor.

Usage: .venv/bin/python bench/sync_bench.py [--sizes 1000,5000,10000] [--events 20]
                                            [--presence-seconds 10] [--metrics]

Starts `mechamental serve` (one uvicorn worker, uvloop + httptools, embedded SQLite) and
the floor server (bench/sync_floor.py: a set of transports, one pre-encoded frame written
to each) as separate processes; this process is the load generator (uvloop, raw sockets).
For each N it opens N streams, measures the server's memory per idle stream, triggers
events (a PUT through the API; a trigger request for the floor) one at a time and records
when each stream receives each event. Then the presence load: 500 users making 500
presence calls/s (9 in 10 change nothing, 1 in 10 change the viewed resource) while
1,000 streams watch, and the delivery time of each resulting event.

With `--metrics` two API servers run (own data dirs), one serving metrics (a token, and a
scrape every second while it is measured) and one not, instead of ours-vs-floor: every
measurement runs on both, alternating (off, on, off, on), and the ratios on/off are printed.
`--metrics --control` runs the same with metrics off on both: the ratios two identical
servers give (an A/A test). With the order off, on, on, off, identical servers gave presence
call p50 5.0, p99 2.7, delivery p50 2.5 (quiet machine, 10 s): a server's second run right
after its first is slower (the first run's 1,000 dropped streams and 500 members are still
being settled). Off, on, off, on puts the other server's run between: A/A 0.93-0.97.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import jwt
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_client import (
    Arrivals,
    HttpClient,
    StreamReader,
    cpu_seconds,
    open_streams,
    report,
    rss_kb,
    stats,
)

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
SECRET = "bench-jwt-secret-" + "x" * 32
ORG = "bench-org"


def token(user: str, role: str = "owner") -> str:
    """A JWT for the bench org."""
    claims = {"sub": user, "org_id": ORG, "role": role, "exp": int(time.time()) + 7200}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def free_port() -> int:
    """An unused loopback port."""
    import socket

    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    """Block until something accepts connections on `port`."""
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "server exited"
        try:
            socket.create_connection((HOST, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


class Bench:
    """The load generator."""

    def __init__(self, args: argparse.Namespace, api: tuple[int, int], floor: tuple[int, int]):
        self.args = args
        self.api_port, self.api_pid = api
        self.floor_port, self.floor_pid = floor
        self.owner = token("owner")
        self.http = HttpClient(HOST, self.api_port)
        self.ws_id = ""
        self.frame_size = 700

    def stream_request(self, bearer: str) -> bytes:
        """The GET of the workspace's stream."""
        path = f"/v1/orgs/{ORG}/workspaces/{self.ws_id}/sync/stream"
        return (
            f"GET {path} HTTP/1.1\r\nhost: {HOST}\r\naccept: text/event-stream\r\n"
            f"authorization: Bearer {bearer}\r\n\r\n"
        ).encode()

    def user_tokens(self, users: list[str]) -> dict[str, str]:
        """Bearer tokens of the presence users: JWTs, or API keys made in the database."""
        if self.args.auth == "jwt":
            return {u: token(u, "member") for u in users}

        async def make() -> dict[str, str]:
            from mechamental.auth import tokens as api_keys
            from mechamental.auth.permissions import Role
            from mechamental.db import Database

            db = Database(self.args.database_url)
            try:
                async with db.transaction() as conn:
                    return {
                        u: (await api_keys.create_token(conn, org_id=ORG, user_id=u,
                                                        role=Role.MEMBER)).secret
                        for u in users
                    }  # fmt: skip
            finally:
                await db.dispose()

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, make()).result()

    async def setup(self) -> None:
        """Create the workspace; learn the size of one update frame."""
        headers = {"authorization": f"Bearer {self.owner}", "content-type": "application/json"}
        status, body = await self.http.request(
            "POST", f"/v1/orgs/{ORG}/workspaces", headers, b'{"name": "bench"}'
        )
        assert status == 201, body
        import json

        self.ws_id = json.loads(body)["workspace_id"]
        sizes: list[int] = []
        arrivals = Arrivals()
        reader = StreamReader(self.stream_request(self.owner), arrivals,
                              on_event=lambda t, d: sizes.append(len(json.dumps(d))))  # fmt: skip
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: reader, HOST, self.api_port)
        for wanted in (1, 2):
            if wanted == 2:
                await self.trigger_api(0)
            deadline = time.monotonic() + 30
            while len(sizes) < wanted:
                assert time.monotonic() < deadline, "the warm-up stream got nothing"
                await asyncio.sleep(0.05)
        self.frame_size = sizes[-1] + 60
        assert reader.transport is not None
        reader.transport.abort()

    async def trigger_api(self, i: int) -> None:
        """One workspace.updated through the API."""
        headers = {"authorization": f"Bearer {self.owner}", "content-type": "application/json"}
        body = b'{"description": "bench event %d"}' % i
        status, _ = await self.http.request(
            "PUT", f"/v1/orgs/{ORG}/workspaces/{self.ws_id}", headers, body
        )
        assert status == 200

    async def fanout(self, n: int, *, floor: bool) -> dict[str, Any]:
        """N streams, `events` events one after the other; latencies and memory."""
        port, pid = (self.floor_port, self.floor_pid) if floor else (self.api_port, self.api_pid)
        trigger_http = HttpClient(HOST, self.floor_port) if floor else None
        request = (
            f"GET /stream HTTP/1.1\r\nhost: {HOST}\r\n\r\n".encode()
            if floor
            else self.stream_request(self.owner)
        )
        arrivals = Arrivals()
        base_rss = rss_kb(pid)
        readers = await open_streams(HOST, port, request, n, arrivals)
        await asyncio.sleep(1.5)
        per_stream_kb = (rss_kb(pid) - base_rss) / n
        latencies: list[float] = []
        completions: list[float] = []
        cpu0, gen0, wall0 = cpu_seconds(pid), time.process_time(), time.perf_counter()
        busy = 0.0
        for i in range(self.args.events):
            seq = (i + 1) if floor else readers[0].last + 1
            slot = arrivals.expect(seq)
            t0 = time.perf_counter()
            if trigger_http is not None:
                path = f"/trigger?seq={seq}&size={self.frame_size}"
                await trigger_http.request("POST", path, {})
            else:
                await self.trigger_api(i + 1)
            deadline = t0 + 60
            # Polling keeps the readers' hot path free of wake-ups.
            while len(slot) < n and time.perf_counter() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.002)
            busy += time.perf_counter() - t0
            latencies += [t - t0 for t in slot]
            completions.append((max(slot) if slot else deadline) - t0)
            await asyncio.sleep(0.1)
        wall = time.perf_counter() - wall0
        result = {
            "n": n,
            "kb_per_stream": per_stream_kb,
            "delivered": len(latencies) / (n * self.args.events),
            "latency": stats(latencies),
            "all_streams": stats(completions),
            "server_cpu": (cpu_seconds(pid) - cpu0) / busy,
            "generator_cpu": (time.process_time() - gen0) / busy,
            "wall": wall,
        }
        for reader in readers:
            if reader.transport is not None:
                reader.transport.abort()
        if trigger_http is not None:
            trigger_http.close()
        await asyncio.sleep(2.0)
        return result

    async def presence_load(self) -> dict[str, Any]:
        """500 users, 500 calls/s, 1 in 10 changing the viewed resource; 1,000 streams."""
        users = [f"user-{i}" for i in range(500)]
        tokens = self.user_tokens(users)
        caused: dict[tuple[str, str], int] = {}

        def on_event(kind: str, data: dict[str, Any]) -> None:
            if kind == "presence.viewing" and data["data"]["viewing"]:
                key = (data["actor_id"], data["data"]["viewing"]["resource_id"])
                caused[key] = int(data["id"].split("-")[0])

        arrivals = Arrivals()
        arrivals.times = _AllSeqs()
        loop = asyncio.get_running_loop()
        watcher = StreamReader(self.stream_request(self.owner), arrivals, on_event=on_event)
        await loop.create_connection(lambda: watcher, HOST, self.api_port)
        readers = await open_streams(
            HOST, self.api_port, self.stream_request(self.owner), 999, arrivals
        )
        clients = [HttpClient(HOST, self.api_port) for _ in range(50)]
        current = {u: "doc-0" for u in users}
        sent: dict[tuple[str, str], float] = {}
        call_times: list[float] = []

        async def call(user: str, resource_id: str) -> None:
            client = clients[hash(user) % len(clients)]
            path = (
                f"/v1/orgs/{ORG}/workspaces/{self.ws_id}/sync/presence/viewing"
                f"?resource_type=doc&resource_id={resource_id}"
            )
            started = time.perf_counter()
            status, _ = await client.request(
                "POST", path, {"authorization": f"Bearer {tokens[user]}"}
            )
            call_times.append(time.perf_counter() - started)
            assert status == 200, status

        locks = [asyncio.Lock() for _ in clients]

        async def serial(user: str, resource_id: str) -> None:
            async with locks[hash(user) % len(clients)]:
                await call(user, resource_id)

        await asyncio.gather(*(serial(u, "doc-0") for u in users))  # everyone joins first
        await asyncio.sleep(2.0)
        call_times.clear()
        rate, seconds = 500, self.args.presence_seconds
        rng = random.Random(7)
        cpu0, gen0 = cpu_seconds(self.api_pid), time.process_time()
        started = time.perf_counter()
        pending: list[asyncio.Task[None]] = []
        for i in range(rate * seconds):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            user = users[i % len(users)]
            if rng.random() < 0.1:
                current[user] = f"doc-{i}"
                sent[(user, current[user])] = time.perf_counter()
            pending.append(asyncio.create_task(serial(user, current[user])))
        await asyncio.gather(*pending)
        elapsed = time.perf_counter() - started
        server_cpu = (cpu_seconds(self.api_pid) - cpu0) / elapsed
        generator_cpu = (time.process_time() - gen0) / elapsed
        await asyncio.sleep(2.0)
        latencies: list[float] = []
        missing = 0
        for key, t0 in sent.items():
            seq = caused.get(key)
            times = arrivals.times.get(seq, []) if seq is not None else []
            missing += 1000 - len(times)
            latencies += [t - t0 for t in times]
        for reader in [watcher, *readers]:
            if reader.transport is not None:
                reader.transport.abort()
        for client in clients:
            client.close()
        return {
            "calls_per_s": len(call_times) / elapsed,
            "call": stats(call_times),
            "changes": len(sent),
            "missing_deliveries": missing,
            "delivery": stats(latencies),
            "server_cpu": server_cpu,
            "generator_cpu": generator_cpu,
        }


class _AllSeqs(dict[int, list[float]]):
    """Arrival record that keeps every event (presence events are not known in advance)."""

    def get(self, key: int, default: Any = None) -> Any:  # type: ignore[override]
        return self.setdefault(key, [])


METRICS_TOKEN = "bench-metrics-token-" + "m" * 16
ORDER = ("off", "on")  # times --rounds: each run follows the other server's run (see --control)
# With --metrics the servers run on core 0 and this load generator on core 1, so that
# neither takes the other's core (what was left of the A/A noise).
PIN_SERVER: list[str] = []


async def scrape_every_second(port: int) -> None:
    """What Prometheus does every 15 s, every second."""
    client = HttpClient(HOST, port)
    try:
        while True:
            await asyncio.sleep(1.0)
            status, _ = await client.request(
                "GET", "/metrics", {"authorization": f"Bearer {METRICS_TOKEN}"}
            )
            assert status == 200, status
    finally:
        client.close()


async def measured(bench: Bench, mode: str, work: Any) -> dict[str, Any]:
    """`work` on one server; the metrics one is scraped meanwhile."""
    scrape = mode == "on" and not bench.args.control
    scraper = asyncio.create_task(scrape_every_second(bench.api_port)) if scrape else None
    try:
        result: dict[str, Any] = await work
        return result
    finally:
        if scraper is not None:
            scraper.cancel()


def _median(results: list[dict[str, Any]], *path: str) -> float:
    values = []
    for r in results:
        value: Any = r
        for key in path:
            value = value[key]
        values.append(float(value))
    return statistics.median(values)


async def run_metrics(args: argparse.Namespace, servers: dict[str, tuple[int, int]]) -> None:
    """Metrics on vs off: each measurement on both servers, alternating."""
    benches = {mode: Bench(args, api, (0, 0)) for mode, api in servers.items()}
    for bench in benches.values():
        await bench.setup()
    figures = [("latency", "p50"), ("latency", "p99"), ("all_streams", "p99"), ("server_cpu",)]
    print(
        f"\nmetrics on/off ratios (medians of {args.rounds} runs each; latency per (event, stream))"
    )
    print(f"{'streams':>8} {'p50':>7} {'p99':>7} {'all p99':>8} {'srv cpu':>8}")
    for n in [int(s) for s in args.sizes.split(",") if s]:
        runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
        for mode in ORDER * args.rounds:
            bench = benches[mode]
            runs[mode].append(await measured(bench, mode, bench.fanout(n, floor=False)))
        ratios = [_median(runs["on"], *f) / _median(runs["off"], *f) for f in figures]
        print(f"{n:>8} " + " ".join(f"{r:>7.3f}" for r in ratios), flush=True)
    if args.presence_seconds:
        pres: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
        for mode in ORDER * args.rounds:
            bench = benches[mode]
            pres[mode].append(await measured(bench, mode, bench.presence_load()))
        names = [("call", "p50"), ("call", "p99"), ("delivery", "p50"), ("delivery", "p99"),
                 ("server_cpu",)]  # fmt: skip
        ratios = [_median(pres["on"], *f) / _median(pres["off"], *f) for f in names]
        labels = ["call p50", "call p99", "delivery p50", "delivery p99", "server cpu"]
        print(
            "presence on/off: "
            + ", ".join(f"{k} {r:.3f}" for k, r in zip(labels, ratios, strict=True))
        )


async def run(args: argparse.Namespace, api: tuple[int, int], floor: tuple[int, int]) -> None:
    """All measurements."""
    bench = Bench(args, api, floor)
    await bench.setup()
    rows = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        ours = await bench.fanout(n, floor=False)
        theirs = await bench.fanout(n, floor=True)
        rows.append((ours, theirs))
        report([rows[-1]], None)
    pres = await bench.presence_load() if args.presence_seconds else None
    report(rows, pres)


def main() -> None:
    """Start the servers, run the load, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--presence-seconds", type=int, default=10)
    parser.add_argument("--auth", choices=["jwt", "key"], default="jwt",
                        help="presence users authenticate with JWTs or API keys")  # fmt: skip
    parser.add_argument("--metrics", action="store_true",
                        help="a server with metrics vs one without (ratios), no floor")  # fmt: skip
    parser.add_argument("--control", action="store_true",
                        help="with --metrics: neither server has metrics (A/A)")  # fmt: skip
    parser.add_argument("--rounds", type=int, default=3, help="with --metrics: runs per side")
    args = parser.parse_args()
    if args.metrics and shutil.which("taskset") and (os.cpu_count() or 1) >= 2:
        PIN_SERVER[:] = ["taskset", "-c", "0"]
        os.sched_setaffinity(0, {1})
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    data = Path(tempfile.mkdtemp(prefix="mm-sync-bench-"))
    # The server gets the bench's settings, plus any MECHAMENTAL_SYNC_* tuning given to us.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MECHAMENTAL_") or k.startswith("MECHAMENTAL_SYNC_")
    }
    env.update(
        MECHAMENTAL_DATA_DIR=str(data),
        MECHAMENTAL_JWT_SECRET=SECRET,
        MECHAMENTAL_RUN_WORKER="false",
        MECHAMENTAL_LOG_LEVEL="WARNING",
        MECHAMENTAL_RATE_LIMITS="false",  # a load generator is one credential
    )
    args.database_url = f"sqlite:///{data / 'mechamental.db'}"
    api_port, floor_port = free_port(), free_port()
    log = (data / "server.log").open("wb")
    command = [*PIN_SERVER, str(BIN / "mechamental"), "serve", "--port", str(api_port)]
    if os.environ.get("SYNC_BENCH_SERVER"):  # e.g. a profiling wrapper (gets the port)
        subprocess.run([str(BIN / "mechamental"), "migrate"], env=env, check=True)
        command = [*os.environ["SYNC_BENCH_SERVER"].split(), str(api_port)]
    api = subprocess.Popen(command,
                           env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    floor = subprocess.Popen([sys.executable, str(Path(__file__).with_name("sync_floor.py")),
                              str(floor_port)], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_ready(api_port, api)
        wait_ready(floor_port, floor)
        if args.metrics:
            on_data = Path(tempfile.mkdtemp(prefix="mm-sync-bench-on-"))
            token = {} if args.control else {"MECHAMENTAL_METRICS_TOKEN": METRICS_TOKEN}
            on_env = {**env, "MECHAMENTAL_DATA_DIR": str(on_data), **token}
            on_port = free_port()
            on_log = (on_data / "server.log").open("wb")
            on_command = [*PIN_SERVER, str(BIN / "mechamental"), "serve", "--port", str(on_port)]
            on = subprocess.Popen(on_command, env=on_env, stdout=on_log, stderr=subprocess.STDOUT)
            try:
                wait_ready(on_port, on)
                servers = {"off": (api_port, api.pid), "on": (on_port, on.pid)}
                uvloop.run(run_metrics(args, servers))
            finally:
                on.terminate()
                on.wait(10)
        else:
            uvloop.run(run(args, (api_port, api.pid), (floor_port, floor.pid)))
    finally:
        if os.environ.get("SYNC_BENCH_SERVER"):
            api.send_signal(signal.SIGUSR1)
            time.sleep(3)
        api.terminate()
        floor.terminate()
        api.wait(10)
        floor.wait(10)
        print(f"(server log: {data / 'server.log'})")


if __name__ == "__main__":
    main()
