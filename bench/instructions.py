"""Instructions per operation under callgrind: what a setting costs, free of timing noise.

Usage: .venv/bin/python bench/instructions.py [--setting metrics|limits] [--requests 300]
                                              [--streams 100] [--events 40]

Latency ratios on this shared 2-core machine move by up to 25 % between two identical
servers (A/A, `sync_bench.py --metrics --control`), so a 5 % cost cannot be seen in them.
Instruction counts can: `valgrind --tool=callgrind` counts the instructions a process
executes, whatever else the machine does. Three servers run in turn on one SQLite
database: the setting off, on, and off again (the A/A control: how far two identical runs
differ, from work that depends on time, such as background loops). Each runs under
callgrind with instrumentation off; after a warm-up of every operation, this script turns
it on (`callgrind_control -i on`) around one kind of operation at a time, sent in sequence
on one keep-alive connection, and reads the count from a dump (`-d`). Counts cover every
thread of the server (aiosqlite's included).

Operations: GET /healthz, GET one workspace, list (limit 50), PUT (description), presence
join and viewing; and fan-out: `--events` PUTs with `--streams` streams open on the
workspace, minus the same PUTs with none, per event per stream (what one delivery costs).

`--setting webhooks`: one server, the worker off; PUT with no endpoint, with five
subscribed to every workspace event, and with none again (the write path's own cost).
`--setting metrics`: metrics on (`METRICS_TOKEN`; no scrape inside a measured window, as
a scrape is its own request) vs off. `--setting limits`: rate limits on (in memory, never
refusing) vs off. Under callgrind a server runs about 50x slower: a run takes minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx

from mechamental.migrations import upgrade

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from api_bench import BIN, METRICS_TOKEN, free_port, limit_env, seed  # noqa: E402

OPERATIONS = ("GET /healthz", "GET workspace", "list limit=50", "PUT", "join", "viewing")


class Server:
    """`mechamental serve` under callgrind, instrumentation off until asked."""

    def __init__(self, url: str, data_dir: Path, out: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.out = out
        self.base = f"http://127.0.0.1:{self.port}"
        full_env = {
            **os.environ,
            **env,
            "MECHAMENTAL_DATABASE_URL": url,
            "MECHAMENTAL_DATA_DIR": str(data_dir),
            "MECHAMENTAL_LOG_LEVEL": "WARNING",
            "MECHAMENTAL_RUN_WORKER": "false",
            "PYTHONHASHSEED": "0",  # the same dict and set layouts in every run
        }
        cmd = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
            sys.executable, str(BIN / "mechamental"), "serve", "--port", str(self.port),
            "--no-migrate",
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=full_env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.base}/healthz", timeout=5)
                return
            except OSError:
                time.sleep(1)
        self.proc.kill()
        raise SystemExit("server did not start under valgrind")

    def _control(self, *args: str) -> str:
        cmd = ["callgrind_control", *args, str(self.proc.pid)]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    async def count(self, work: object) -> int:
        """Instructions the server executed while `work` (a coroutine) ran."""
        self._control("-z")
        self._control("-i", "on")
        await work  # type: ignore[misc]
        self._control("-i", "off")
        before = set(self.out.parent.glob(f"{self.out.name}*"))
        self._control("-d")
        for _ in range(600):
            dumped = set(self.out.parent.glob(f"{self.out.name}*")) - before
            if dumped:
                await asyncio.sleep(0.5)  # the dump is written in one go; let it finish
                text = next(iter(dumped)).read_text(errors="replace")
                # `totals:` counts since the zeroing (`summary:` stays 0 in such dumps).
                found = re.search(r"^totals:\s+(\d+)", text, re.M)
                assert found, "no totals in the callgrind dump"
                for path in dumped:
                    path.unlink()
                return int(found.group(1))
            await asyncio.sleep(0.1)
        raise SystemExit("callgrind did not dump")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()


async def requests(client: httpx.AsyncClient, method: str, url: str, n: int, **kw: object) -> None:
    for i in range(n):
        if method == "PUT":
            kw = {"json": {"description": f"d{i}"}}
        response = await client.request(method, url, **kw)  # type: ignore[arg-type]
        assert response.status_code < 300, response.text


async def measure(
    server: Server, token: str, ws_id: str, n: int, streams: int, events: int
) -> dict[str, float]:
    """Instructions per operation on one server."""
    org = f"{server.base}/v1/orgs/small/workspaces"
    sync = f"{org}/{ws_id}/sync"
    viewing: dict[str, object] = {"params": {"resource_type": "doc", "resource_id": "d1"}}
    calls: dict[str, tuple[str, str, dict[str, object]]] = {
        "GET /healthz": ("GET", f"{server.base}/healthz", {}),
        "GET workspace": ("GET", f"{org}/{ws_id}", {}),
        "list limit=50": ("GET", f"{org}?limit=50", {}),
        "PUT": ("PUT", f"{org}/{ws_id}", {}),
        "join": ("POST", f"{sync}/presence/join", {}),
        "viewing": ("POST", f"{sync}/presence/viewing", viewing),
    }
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, float] = {}
    async with httpx.AsyncClient(headers=headers, timeout=600) as client:
        for method, url, kw in calls.values():  # warm-up: caches, statements
            await requests(client, method, url, 20, **kw)
        for name, (method, url, kw) in calls.items() if n else ():  # `--requests 0`: none
            out[name] = await server.count(requests(client, method, url, n, **kw)) / n
        alone = await server.count(requests(client, "PUT", f"{org}/{ws_id}", events))
        frames = [0] * streams
        all_open = asyncio.Event()  # every stream has its `sync.connected`
        unbounded = httpx.Limits(max_connections=None)  # httpx pools 100 by default
        async with httpx.AsyncClient(headers=headers, timeout=600, limits=unbounded) as streamer:
            readers = [
                asyncio.create_task(_stream(streamer, f"{sync}/stream", frames, i, all_open))
                for i in range(streams)
            ]
            await all_open.wait()
            await asyncio.sleep(5)  # the opens' own work is done
            opened = sum(frames)
            target = opened + events * streams
            fanned = await server.count(_fan(client, f"{org}/{ws_id}", events, frames, target))
            for reader in readers:
                reader.cancel()
        delivered = sum(frames) - opened
        assert delivered == events * streams, f"{delivered} of {events * streams} delivered"
    out["fan-out per delivery"] = (fanned - alone) / (events * streams)
    return out


async def _stream(
    client: httpx.AsyncClient, url: str, frames: list[int], i: int, all_open: asyncio.Event
) -> None:
    """Count the frames (`data:` lines) stream `i` receives."""
    async with client.stream("GET", url) as response:
        async for line in response.aiter_lines():
            if line.startswith("data:"):
                frames[i] += 1
                if frames[i] == 1 and min(frames) > 0:
                    all_open.set()


async def _fan(
    client: httpx.AsyncClient, url: str, events: int, frames: list[int], target: int
) -> None:
    """The PUTs, then until every stream has every event (no fixed wait: time-driven work
    such as the background loops would count as much as the window lasts)."""
    await requests(client, "PUT", url, events)
    for _ in range(6000):
        if sum(frames) >= target:
            return
        await asyncio.sleep(0.05)


async def measure_webhooks(server: Server, token: str, ws_id: str, n: int) -> dict[str, float]:
    """Instructions per PUT in the API process with no endpoint, with five subscribed, and
    with none again (the worker is off: what the write path itself costs)."""
    item = f"{server.base}/v1/orgs/small/workspaces/{ws_id}"
    hooks = f"{server.base}/v1/orgs/small/webhooks"
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, float] = {}
    async with httpx.AsyncClient(headers=headers, timeout=600) as client:
        await requests(client, "PUT", item, 20)
        out["off"] = await server.count(requests(client, "PUT", item, n)) / n
        ids = []
        for i in range(5):
            body = {"url": f"http://127.0.0.1:{9000 + i}/hook", "event_types": ["workspace.*"]}
            created = await client.post(hooks, json=body)
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        await requests(client, "PUT", item, 20)
        out["on"] = await server.count(requests(client, "PUT", item, n)) / n
        for hook_id in ids:
            assert (await client.delete(f"{hooks}/{hook_id}")).status_code == 204
        await requests(client, "PUT", item, 20)
        out["off again"] = await server.count(requests(client, "PUT", item, n)) / n
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--setting", choices=["metrics", "limits", "webhooks"], default="metrics")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--events", type=int, default=40)
    args = parser.parse_args()
    on_env = {"metrics": {"MECHAMENTAL_METRICS_TOKEN": METRICS_TOKEN}, "limits": limit_env(True)}
    off_env = {"metrics": {}, "limits": limit_env(False)}
    base = {**limit_env(False), "MECHAMENTAL_HEARTBEAT_SECONDS": "600"}
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        url = f"sqlite:///{data_dir / 'bench.db'}"
        upgrade(url)
        token, ws_id, _ = asyncio.run(seed(url, "small", 1000))
        results: dict[str, dict[str, float]] = {}
        if args.setting == "webhooks":
            env = {**base, "MECHAMENTAL_WEBHOOK_ALLOW_PRIVATE": "true"}
            server = Server(url, data_dir, data_dir / "cg.webhooks", env)
            try:
                found = asyncio.run(measure_webhooks(server, token, ws_id, args.requests))
            finally:
                server.stop()
            results = {side: {"PUT": value} for side, value in found.items()}
        for side in ("off", "on", "off again") if args.setting != "webhooks" else ():
            env = {**base, **(on_env if side == "on" else off_env)[args.setting]}
            server = Server(url, data_dir, data_dir / f"cg.{side.replace(' ', '_')}", env)
            try:
                results[side] = asyncio.run(
                    measure(server, token, ws_id, args.requests, args.streams, args.events)
                )
            finally:
                server.stop()
            print(f"{side}: done", flush=True)
    print(f"\n{args.setting}: instructions per operation (callgrind, whole server process)")
    print(f"{'operation':<22}{'off':>14}{'on':>14}{'on/off':>9}{'A/A':>9}")
    for name in results["off"]:
        off, on, again = (results[s][name] for s in ("off", "on", "off again"))
        print(f"{name:<22}{off:>14,.0f}{on:>14,.0f}{on / off:>9.3f}{again / off:>9.3f}")


if __name__ == "__main__":
    main()
