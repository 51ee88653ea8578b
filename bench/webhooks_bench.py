"""Webhooks benchmark: delivery throughput, commit-to-delivery latency, write-path cost.

Usage: .venv/bin/python bench/webhooks_bench.py [--backend sqlite|postgres] [--events 3000]

Runs `mechamental serve` processes against a fresh database and aiohttp receivers in this
process (loopback; `WEBHOOK_ALLOW_PRIVATE=true`):
1. Sustained deliveries/s from one process: events recorded while no worker runs (a backlog
   of `--events` PUTs), then one process with the worker started; time until all arrived.
2. Commit-to-delivery latency (receipt minus the event's `occurred_at`, written just before
   its commit) at 100 PUTs/s for 10 s, with one and with ten endpoints.
3. The write path: PUT p50/p99 with no endpoint and with five subscribed (one client, in
   sequence), and their ratio (the target: p99 on within 1.2x of off), with the worker in
   the API process, with no worker running (the write path alone: matching and sending
   happen in the worker), and with it in a `mechamental worker` process of its own.

`--pin`: the API server on core 0; the worker process, the receivers and this load
generator on core 1 (PostgreSQL unpinned), as a deployment gives delivery cores of its
own. Without it, on a 2-core machine, delivering 5 endpoints' traffic takes CPU from the
API server, and PUT latency measures that contention more than the write path.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
from aiohttp import web

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database
from mechamental.migrations import upgrade

ROOT = Path(__file__).resolve().parent.parent
MECHAMENTAL = str(Path(sys.executable).with_name("mechamental"))
sys.path.insert(0, str(ROOT))
from tests.sync.procs import free_port  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from sync_client import cpu_seconds  # noqa: E402


class Receiver:
    """Counts deliveries and their latency; answers 200."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.arrivals: list[float] = []
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        now = time.time()
        occurred = datetime.fromisoformat(body["occurred_at"]).timestamp()
        self.latencies.append(now - occurred)
        self.arrivals.append(time.monotonic())
        return web.Response(text="ok")


async def serve_receivers(count: int) -> None:
    """The receiving side, in its own process: `count` hook ports and a control port
    (`GET /stats` gives every receiver's arrivals and latencies, `POST /reset` clears them)."""
    receivers = [Receiver() for _ in range(count)]
    runners = []
    for receiver in receivers:
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await runner.setup()
        receiver.port = free_port()
        await web.TCPSite(runner, "127.0.0.1", receiver.port).start()
        runners.append(runner)

    async def stats(_: web.Request) -> web.Response:
        return web.json_response(
            [{"latencies": r.latencies, "arrivals": r.arrivals} for r in receivers]
        )

    async def reset(_: web.Request) -> web.Response:
        for r in receivers:
            r.latencies.clear()
            r.arrivals.clear()
        return web.json_response({})

    control = web.Application()
    control.router.add_get("/stats", stats)
    control.router.add_post("/reset", reset)
    runner = web.AppRunner(control, access_log=None)
    await runner.setup()
    control_port = free_port()
    await web.TCPSite(runner, "127.0.0.1", control_port).start()
    print(json.dumps({"control": control_port, "hooks": [r.port for r in receivers]}), flush=True)
    await asyncio.Event().wait()


SERVER_CPU: list[str] = []  # `--pin`: taskset prefixes
DELIVERY_CPU: list[str] = []


class Receivers:
    """The receivers' process, seen from the load generator."""

    def __init__(self, count: int) -> None:
        self.proc = subprocess.Popen(
            [*DELIVERY_CPU, sys.executable, __file__, "--serve-receivers", str(count)],
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        ports = json.loads(self.proc.stdout.readline())
        self.control = f"http://127.0.0.1:{ports['control']}"
        self.ports: list[int] = ports["hooks"]

    async def stats(self) -> list[dict[str, list[float]]]:
        async with httpx.AsyncClient() as client:
            return list((await client.get(f"{self.control}/stats")).json())

    async def reset(self) -> None:
        async with httpx.AsyncClient() as client:
            await client.post(f"{self.control}/reset")

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


class Server:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log, self.port = env, log, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, **extra: str) -> None:
        env = {**self.env, **extra}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: ASYNC220
                [*SERVER_CPU, MECHAMENTAL, "serve", "--port", str(self.port), "--no-migrate"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        async with httpx.AsyncClient() as client:
            for _ in range(1200):
                try:
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError("server did not start")

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(30)


async def make_db(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'bench.db'}"
    else:
        name = f"mm_bench_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    await asyncio.to_thread(upgrade, url)  # its env runs a loop of its own (asyncpg)
    return url


async def seed(url: str) -> tuple[str, str]:
    db = Database(url)
    async with db.transaction() as conn:
        org = await tokens.create_org(conn, name="bench", org_id=f"bench-{uuid.uuid4().hex[:8]}")
        issued = await tokens.create_token(conn, org_id=org, user_id="bench", role=Role.OWNER)
    await db.dispose()
    return org, issued.secret


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--serve-receivers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--pin", action="store_true", help="server core 0, delivery core 1")
    args = parser.parse_args()
    if args.pin:
        SERVER_CPU[:] = ["taskset", "-c", "0"]
        DELIVERY_CPU[:] = ["taskset", "-c", "1"]
        os.sched_setaffinity(0, {1})
    if args.serve_receivers:
        await serve_receivers(args.serve_receivers)
        return
    tmp = Path(tempfile.mkdtemp(prefix="mm-wh-bench-"))
    url = await make_db(args.backend, tmp)
    org, token = await seed(url)
    headers = {"Authorization": f"Bearer {token}"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECHAMENTAL_")}
    env.update(
        MECHAMENTAL_ENV="test",
        MECHAMENTAL_DATABASE_URL=url,
        MECHAMENTAL_DATA_DIR=str(tmp),
        MECHAMENTAL_SECRET_KEY="bench-secret-key-" + "k" * 32,
        MECHAMENTAL_LOG_LEVEL="WARNING",
        MECHAMENTAL_RATE_LIMITS="false",  # a load generator is one credential
        MECHAMENTAL_WEBHOOK_ALLOW_PRIVATE="true",
        MECHAMENTAL_WEBHOOK_POLL_SECONDS="1",
    )
    server = Server(env, tmp / "server.log")
    receivers = Receivers(10)
    worker: subprocess.Popen[bytes] | None = None
    try:
        print(f"backend={args.backend} load={os.getloadavg()}")

        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:

            async def put_hook(port: int) -> str:
                r = await http.post(
                    f"/v1/orgs/{org}/webhooks",
                    json={
                        "url": f"http://127.0.0.1:{port}/hook",
                        "event_types": ["workspace.updated"],
                    },
                )
                assert r.status_code == 201, r.text
                return str(r.json()["id"])

            async def delete_hooks(ids: list[str]) -> None:
                for hook_id in ids:
                    assert (
                        await http.delete(f"/v1/orgs/{org}/webhooks/{hook_id}")
                    ).status_code == 204

            async def wait_for(count: int, endpoints: int) -> list[dict[str, list[float]]]:
                started = time.monotonic()
                while True:
                    stats = (await receivers.stats())[:endpoints]
                    if sum(len(r["arrivals"]) for r in stats) >= count:
                        return stats
                    if time.monotonic() - started > 600:
                        raise RuntimeError(
                            f"only {sum(len(r['arrivals']) for r in stats)} delivered"
                        )
                    await asyncio.sleep(0.2)

            # 1. Throughput: a backlog recorded without a worker, then one process delivers it.
            await server.start(MECHAMENTAL_RUN_WORKER="false")
            ws = (await http.post(f"/v1/orgs/{org}/workspaces", json={"name": "b"})).json()[
                "workspace_id"
            ]
            item = f"/v1/orgs/{org}/workspaces/{ws}"
            hook = await put_hook(receivers.ports[0])
            sem = asyncio.Semaphore(8)

            async def put(n: int) -> float:
                async with sem:
                    started = time.perf_counter()
                    r = await http.put(item, json={"name": f"n{n}"})
                    assert r.status_code == 200, r.text
                    return time.perf_counter() - started

            await asyncio.gather(*(put(n) for n in range(args.events)))
            server.stop()
            await server.start(MECHAMENTAL_RUN_WORKER="true")
            cpu = server.cpu_seconds(), receivers.cpu_seconds()
            arrivals = (await wait_for(args.events, 1))[0]["arrivals"]
            spent = server.cpu_seconds() - cpu[0], receivers.cpu_seconds() - cpu[1]
            elapsed = arrivals[-1] - arrivals[0]
            print(
                f"throughput: {args.events} deliveries in {elapsed:.2f} s "
                f"= {args.events / elapsed:.0f}/s (1 endpoint, 1 process); CPU: server "
                f"{spent[0] / args.events * 1000:.2f} ms per delivery, receivers {spent[1]:.1f} s"
            )
            await delete_hooks([hook])

            # 2. Latency at 100 events/s, one and ten endpoints.
            for count in (1, 10):
                ids = [await put_hook(port) for port in receivers.ports[:count]]
                await receivers.reset()
                cpu_before = receivers.cpu_seconds()
                for n in range(1000):
                    tick = time.perf_counter()
                    await put(n)
                    await asyncio.sleep(max(0.0, 0.01 - (time.perf_counter() - tick)))
                stats = await wait_for(1000 * count, count)
                lat = [x * 1000 for r in stats for x in r["latencies"]]
                print(
                    f"latency at 100/s, {count} endpoint(s): p50 {pct(lat, 0.5):.1f} ms "
                    f"p99 {pct(lat, 0.99):.1f} ms (receivers' CPU "
                    f"{receivers.cpu_seconds() - cpu_before:.1f} s)"
                )
                await delete_hooks(ids)

            # 3. The write path: sequential PUTs, with no endpoint and with five, the worker in
            # the API process and then in a process of its own (`mechamental worker`).
            async def put_series(n: int) -> list[float]:
                return [await put(i) for i in range(n)]

            async def compare(label: str, delivering: bool = True) -> None:
                await put_series(200)  # warm
                off = await put_series(2000)
                ids = [await put_hook(port) for port in receivers.ports[:5]]
                await receivers.reset()
                on = await put_series(2000)
                if delivering:
                    await wait_for(2000 * 5, 5)  # all delivered before the next series
                await delete_hooks(ids)
                off_again = await put_series(2000)
                for name, xs in (("off", off), ("on (5 endpoints)", on), ("off again", off_again)):
                    ms = [x * 1000 for x in xs]
                    print(
                        f"PUT {label}, {name}: p50 {statistics.median(ms):.2f} ms "
                        f"p99 {pct(ms, 0.99):.2f} ms"
                    )
                base = (pct(off, 0.99) + pct(off_again, 0.99)) / 2
                print(f"PUT {label}: p99 on/off {pct(on, 0.99) / base:.2f}x")

            await compare("worker in the API process")
            server.stop()
            await server.start(MECHAMENTAL_RUN_WORKER="false")
            # The write path alone: the events wait for a worker (none runs meanwhile).
            await compare("no worker running", delivering=False)
            with (tmp / "worker.log").open("ab") as out:
                worker = subprocess.Popen(  # noqa: ASYNC220
                    [*DELIVERY_CPU, MECHAMENTAL, "worker"],
                    env=server.env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            await compare("worker in its own process")
            worker.terminate()
            worker.wait(30)
    finally:  # nothing outlives the bench, a failed run included
        for proc in (server.proc, worker):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                proc.wait(30)
        receivers.stop()
        if args.backend == "postgres":  # the throw-away database
            conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
