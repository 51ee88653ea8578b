"""Stream churn: does a server that sees reconnects all day give memory back? (run by hand)

Usage: .venv/bin/python bench/churn.py [--rounds 40] [--streams 2000] [--settle 1.0]

Starts one embedded `mechamental serve` (uvicorn + httptools, SQLite) and a load generator
in a process of its own. Each round the generator opens `--streams` streams on one
workspace (50 users in turn), waits until every one has its `sync.connected`, then closes them all;
this process then reads the server's RSS from /proc. A server that frees a closed stream
has a flat curve after the first rounds (allocator arenas, caches); one that keeps
something per stream grows by (kept bytes x streams) every round. At the end it waits 30 s
and reads RSS once more.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync_bench import ORG, SECRET, free_port, token, wait_ready
from sync_client import Arrivals, HttpClient, StreamReader, rss_kb

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
USERS = 50


class ChurnReader(StreamReader):
    """A stream reader that can be awaited until its connection is gone."""

    __slots__ = ("gone",)

    def __init__(self, request: bytes, arrivals: Arrivals) -> None:
        super().__init__(request, arrivals)
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if not self.gone.done():
            self.gone.set_result(None)


async def open_round(
    port: int, requests: list[bytes], count: int, arrivals: Arrivals
) -> list[ChurnReader]:
    """Open `count` streams (users in turn, 200 connects at a time) until all are connected."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(200)
    readers: list[ChurnReader] = []

    async def one(number: int) -> None:
        async with gate:
            reader = ChurnReader(requests[number % len(requests)], arrivals)
            await loop.create_connection(lambda: reader, HOST, port)
            readers.append(reader)

    await asyncio.gather(*(one(n) for n in range(count)))
    deadline = time.monotonic() + 120
    while arrivals.connected < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {arrivals.connected}/{count} connected")
        await asyncio.sleep(0.01)
    return readers


async def generate(port: int, rounds: int, streams: int) -> None:
    """The load generator: rounds of open-until-connected, then close; one JSON line each."""
    http = HttpClient(HOST, port)
    owner = {"authorization": f"Bearer {token('owner')}", "content-type": "application/json"}
    status, body = await http.request(
        "POST", f"/v1/orgs/{ORG}/workspaces", owner, b'{"name": "churn"}'
    )
    assert status == 201, body
    path = f"/v1/orgs/{ORG}/workspaces/{json.loads(body)['workspace_id']}/sync/stream"
    requests = [
        f"GET {path} HTTP/1.1\r\nhost: {HOST}\r\naccept: text/event-stream\r\n"
        f"authorization: Bearer {token(f'user-{u}', 'member')}\r\n\r\n".encode()
        for u in range(USERS)
    ]
    print(json.dumps({"ready": True}), flush=True)
    for number in range(1, rounds + 1):
        started = time.perf_counter()
        arrivals = Arrivals()
        opened = await open_round(port, requests, streams, arrivals)
        for reader in opened:
            assert reader.transport is not None
            reader.transport.close()
        await asyncio.gather(*(r.gone for r in opened))
        elapsed = time.perf_counter() - started
        print(json.dumps({"round": number, "seconds": round(elapsed, 2)}), flush=True)
        sys.stdin.readline()  # the parent has read the server's memory
    http.close()


def main() -> None:
    """Start the server and the generator; print RSS per round."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds after a round")
    parser.add_argument("--generate", type=int, help=argparse.SUPPRESS)  # the child's port
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.generate:
        uvloop.run(generate(args.generate, args.rounds, args.streams))
        return
    data = Path(tempfile.mkdtemp(prefix="mm-churn-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MECHAMENTAL_")}
    env.update(
        MECHAMENTAL_DATA_DIR=str(data),
        MECHAMENTAL_JWT_SECRET=SECRET,
        MECHAMENTAL_RUN_WORKER="false",
        MECHAMENTAL_LOG_LEVEL="WARNING",
        MECHAMENTAL_RATE_LIMITS="false",  # a load generator is one credential
    )
    port = free_port()
    log = (data / "server.log").open("wb")
    command = [str(BIN / "mechamental"), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    generator: subprocess.Popen[str] | None = None
    try:
        wait_ready(port, server)
        child = [sys.executable, __file__, "--generate", str(port)]
        child += ["--rounds", str(args.rounds), "--streams", str(args.streams)]
        generator = subprocess.Popen(
            child, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert generator.stdin is not None and generator.stdout is not None
        assert json.loads(generator.stdout.readline()).get("ready")
        before = rss_kb(server.pid)
        print(f"RSS before any stream: {before / 1024:.1f} MB")
        print("round  streams  seconds  RSS MB  delta MB")
        last = before
        for line in generator.stdout:
            row = json.loads(line)
            time.sleep(args.settle)
            rss = rss_kb(server.pid)
            total = row["round"] * args.streams
            print(
                f"{row['round']:5d}  {total:7d}  {row['seconds']:7.2f}  {rss / 1024:6.1f}"
                f"  {(rss - last) / 1024:+8.2f}",
                flush=True,
            )
            last = rss
            generator.stdin.write("\n")
            generator.stdin.flush()
        assert generator.wait(60) == 0, "the generator failed"
        time.sleep(30)
        print(f"RSS 30 s after the last round: {rss_kb(server.pid) / 1024:.1f} MB")
    finally:
        if generator is not None and generator.poll() is None:
            generator.kill()
        server.terminate()
        server.wait(10)
        print(f"(server log: {data / 'server.log'})")


if __name__ == "__main__":
    main()
