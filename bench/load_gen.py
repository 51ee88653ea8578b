"""Shared parts of bench/mixed_load.py and bench/reconnect_storm.py, and their generator process.

The driver side (imported):
- `Backend`: the database of one run, created and removed by it: embedded SQLite in a temp
  dir, or (`scaled`) a PostgreSQL database of its own plus a Redis prefix of its own (its
  keys are deleted at the end).
- `Server`: `mechamental serve` as a subprocess in a session of its own; its CPU and RSS are
  summed over its process tree from /proc (`--workers 2`: the supervisor and its workers).
- `Generators`: N copies of this file as load-generator processes (each owns a slice of the
  workspaces: their streams, their users' presence calls, their updates), driven by lines on
  stdin (`go`, `mark T`, `stop`) and answering lines on stdout (`ready`, `resumed`,
  `stopped`, `done`); results come back as a JSON file and binary arrays.

The generator side (`python bench/load_gen.py CONFIG.json`):
- `Stream`: one EventSource on a raw asyncio protocol. It splits only `id:`/`event:` of each
  frame (plus `occurred_at`, and the token that names the request which caused an update or
  a viewing change, with `bytes.find`), checks that the ids of its workspace come in order,
  each once, honours `retry:` (plus up to 1 s of jitter) and resumes with `Last-Event-ID`.
- `Calls`: a pool of keep-alive HTTP/1.1 connections on asyncio streams.
Latencies: `commit` = receipt - the event's `occurred_at` (set in the transaction that
commits it, same host clock); `sent` = receipt - when the generator sent the request that
caused it (updates and viewing changes, matched by a unique token in the body/resource id).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import json
import os
import queue
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import jwt

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
SECRET = "bench-jwt-secret-" + "x" * 32
ORG = "bench-org"
PG = "postgresql://postgres@127.0.0.1:5432"
ASYNC_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"
JITTER = 1.0  # seconds of random delay added to the server's `retry:` hint on a reconnect
# Call records: (scheduled, sent, done, status) per call; status < 0 is a transport error.
REFUSED, RESET, OTHER = -1.0, -2.0, -3.0
ERROR_NAMES = {REFUSED: "refused", RESET: "reset", OTHER: "error"}
CHANGED = b'"changes":{"description":"'  # an update's token follows (the body is compact JSON)
VIEWED = b'"resource_id":"'  # a viewing change's token follows (`viewing` comes first)
IDLE_SECONDS = 3.0  # a kept-alive connection idle longer is closed (the server's limit is 5 s)


def token(user: str, role: str = "member") -> str:
    """A JWT of the bench org, signed with the bench secret."""
    claims = {"sub": user, "org_id": ORG, "role": role, "exp": int(time.time()) + 7200}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def raise_nofile() -> None:
    """Open-file limit up to the hard limit (inherited by the processes this one starts)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    """Resident memory of a process in KiB (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def percentile(values: Any, q: float) -> float:
    """The q-th percentile (nearest rank) of sorted `values`."""
    if not len(values):
        return float("nan")
    index = min(len(values) - 1, max(0, round(q / 100 * len(values) + 0.5) - 1))
    return float(values[index])


def ms_stats(values: Any) -> str:
    """`p50 / p99 / max` in ms of a list of seconds."""
    ordered = sorted(values)
    if not ordered:
        return "n/a"
    p50, p99 = percentile(ordered, 50), percentile(ordered, 99)
    return f"p50 {p50 * 1e3:.1f} / p99 {p99 * 1e3:.1f} / max {ordered[-1] * 1e3:.1f} ms"


def listen_drops() -> dict[str, int]:
    """The kernel's counters of connections a full accept queue dropped (whole host)."""
    with open("/proc/net/netstat") as fh:
        lines = [line.split() for line in fh if line.startswith("TcpExt:")]
    counters = dict(zip(lines[0][1:], map(int, lines[1][1:]), strict=True))
    return {k: counters.get(k, 0) for k in ("ListenOverflows", "ListenDrops")}


def on_signals() -> None:
    """SIGTERM and SIGHUP end the driver as Ctrl-C does (its `finally` blocks clean up)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


# -- driver side ----------------------------------------------------------------------------


class Backend:
    """A run's database (and Redis prefix): made by `setup`, removed by `teardown`."""

    def __init__(self, mode: str, label: str) -> None:
        self.mode = mode
        self.tag = f"{label}_{uuid.uuid4().hex[:8]}"
        self.data = Path(tempfile.mkdtemp(prefix=f"mm-{label}-"))
        self.database = f"mm_bench_{self.tag}"
        self.prefix = f"mmbench-{self.tag}"
        self.created = False
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("MECHAMENTAL_") or k.startswith("MECHAMENTAL_SYNC_")
        }
        env.update(
            MECHAMENTAL_DATA_DIR=str(self.data),
            MECHAMENTAL_JWT_SECRET=SECRET,
            MECHAMENTAL_RUN_WORKER="false",
            MECHAMENTAL_LOG_LEVEL="WARNING",
            MECHAMENTAL_RATE_LIMITS="false",  # a load generator's writer is one credential
        )
        if mode == "scaled":
            env.update(
                MECHAMENTAL_DATABASE_URL=f"{ASYNC_PG}/{self.database}",
                MECHAMENTAL_REDIS_URL=REDIS_URL,
                MECHAMENTAL_REDIS_PREFIX=self.prefix,
            )
        else:
            env["MECHAMENTAL_DATABASE_URL"] = f"sqlite:///{self.data / 'mechamental.db'}"
        self.env = env

    def setup(self) -> None:
        """Create the database (scaled) and migrate it."""
        if self.mode == "scaled":
            subprocess.run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {self.database}"],
                           check=True)  # fmt: skip
            self.created = True
        subprocess.run([str(BIN / "mechamental"), "migrate"], env=self.env, check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip

    def store_pids(self) -> dict[str, list[int]]:
        """Scaled: the PostgreSQL backends connected to our database, and the Redis server
        (shared with whatever else uses it); embedded: none."""
        if self.mode != "scaled":
            return {}
        query = f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.database}'"
        out = subprocess.run(["psql", f"{PG}/postgres", "-Atc", query], capture_output=True,
                             text=True, check=False).stdout  # fmt: skip
        info = subprocess.run(["redis-cli", "-u", REDIS_URL, "info", "server"],
                              capture_output=True, text=True, check=False).stdout  # fmt: skip
        redis = [int(line.split(":")[1]) for line in info.splitlines()
                 if line.startswith("process_id:")]  # fmt: skip
        return {"postgres": [int(x) for x in out.split()], "redis": redis}

    def store_cpu(self) -> dict[str, float]:
        """CPU seconds so far of `store_pids` (by name)."""
        return {k: sum(cpu_seconds(p) for p in v) for k, v in self.store_pids().items()}

    def heads_source(self) -> dict[str, str]:
        """Where a generator reads the workspaces' heads (`event_seq`)."""
        if self.mode == "scaled":
            return {"dsn": f"{PG}/{self.database}"}
        return {"sqlite": str(self.data / "mechamental.db")}

    def teardown(self, keep_logs: str = "") -> None:
        """Drop the database, delete our Redis keys, remove the temp dir (the server logs
        are copied to `keep_logs` first, if given)."""
        if keep_logs:
            Path(keep_logs).mkdir(parents=True, exist_ok=True)
            for log in self.data.glob("server-*.log"):
                shutil.copy(log, Path(keep_logs) / f"{self.tag}-{log.name}")
        if self.created:
            subprocess.run(
                ["psql", f"{PG}/postgres", "-qc",
                 f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"],
                check=False,
            )  # fmt: skip
            self.created = False
        if self.mode == "scaled":
            import redis

            client = redis.Redis.from_url(REDIS_URL)
            try:
                keys = list(client.scan_iter(match=f"{self.prefix}:*", count=1000))
                for i in range(0, len(keys), 500):
                    client.delete(*keys[i : i + 500])
            finally:
                client.close()
        shutil.rmtree(self.data, ignore_errors=True)


def healthy(port: int) -> bool | None:
    """True if /healthz answers 200, None if nothing listens, False otherwise."""
    try:
        with socket.create_connection((HOST, port), timeout=1) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nhost: bench\r\nconnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except ConnectionRefusedError:
        return None
    except OSError:
        return False


class Server:
    """`mechamental serve` in a session of its own (so Ctrl-C reaches it only through us)."""

    def __init__(self, backend: Backend, workers: int = 1, port: int | None = None) -> None:
        self.backend = backend
        self.workers = workers
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        """Start it (the database is migrated already)."""
        self.starts += 1
        log = (self.backend.data / f"server-{self.starts}.log").open("ab")
        command = [str(BIN / "mechamental"), "serve", "--port", str(self.port), "--no-migrate",
                   "--workers", str(self.workers)]  # fmt: skip
        self.proc = subprocess.Popen(command, env=self.backend.env, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        log.close()

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Wait until /healthz answers 200 (polled every 20 ms); the time it first did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}): {self.log_tail()}")
            if healthy(self.port):
                return time.time()
            time.sleep(0.02)
        raise RuntimeError("server did not become ready")

    def log_tail(self) -> str:
        """The end of the server's log."""
        text = (self.backend.data / f"server-{self.starts}.log").read_text(errors="replace")
        return text[-3000:]

    def pids(self) -> list[int]:
        """The server's processes."""
        return process_tree(self.proc.pid) if self.proc is not None else []

    def cpu(self) -> float:
        """CPU seconds of the server's live processes."""
        return sum(cpu_seconds(p) for p in self.pids())

    def cpu_by_process(self) -> dict[int, float]:
        """CPU seconds of each live process of the server."""
        return {p: cpu_seconds(p) for p in self.pids()}

    def rss_kb(self) -> int:
        """Resident memory of the server's processes, summed."""
        return sum(rss_kb(p) for p in self.pids())

    def terminate(self) -> None:
        """SIGTERM to the server (uvicorn's supervisor passes it on to its workers)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def wait_exit(self, timeout: float = 30.0) -> float:
        """Wait for it to exit (SIGKILL to its group after `timeout`); the time then."""
        if self.proc is None:
            return time.time()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()
            self.proc.wait(10)
        done = time.time()
        self.kill_group()  # anything of its session left behind
        return done

    def kill_group(self) -> None:
        """SIGKILL to the server's own process group (the session `start` created)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def stop(self) -> None:
        """Terminate and wait; idempotent."""
        if self.proc is not None:
            self.terminate()
            self.wait_exit(20)
            self.proc = None


async def create_workspaces(port: int, count: int, parallel: int = 16) -> list[str]:
    """`count` workspaces, made through the API by an admin."""
    calls = Calls(port, parallel)
    bearer = token("bench-writer", "admin")
    ids: list[str] = []

    async def one(i: int) -> None:
        body = json.dumps({"name": f"mix-{i}"}).encode()
        for _ in range(5):
            status, payload = await calls.fetch("POST", f"/v1/orgs/{ORG}/workspaces", bearer, body)
            if status == 201:
                ids.append(json.loads(payload)["workspace_id"])
                return
            await asyncio.sleep(0.5)
        raise RuntimeError(f"could not create a workspace: {status} {payload[:200]!r}")

    await asyncio.gather(*(one(i) for i in range(count)))
    calls.close()
    return ids


class Generators:
    """N load-generator processes, each with its own slice of the workspaces."""

    def __init__(self, configs: list[dict[str, Any]], work: Path) -> None:
        self.configs = configs
        self.procs: list[subprocess.Popen[str]] = []
        self.lines: queue.Queue[tuple[int, str]] = queue.Queue()
        for i, cfg in enumerate(configs):
            cfg["out"] = str(work / f"gen-{i}")
            path = work / f"gen-{i}.json"
            path.write_text(json.dumps(cfg))
            proc = subprocess.Popen([sys.executable, __file__, str(path)], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)  # fmt: skip
            self.procs.append(proc)
            threading.Thread(target=self._read, args=(i, proc), daemon=True).start()

    def _read(self, i: int, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.put((i, line.strip()))
        self.lines.put((i, "exited"))

    def send(self, line: str) -> None:
        """A command to every generator."""
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(line + "\n")
            proc.stdin.flush()

    def wait_all(self, word: str, timeout: float, tick: Any = None) -> float:
        """Wait until every generator said `word`; the time the last one did."""
        pending = set(range(len(self.procs)))
        deadline = time.monotonic() + timeout
        while pending:
            try:
                i, line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if tick is not None:
                    tick()
                if time.monotonic() > deadline:
                    raise TimeoutError(f"generators {sorted(pending)} did not say {word}") from None
                continue
            if line == "exited" and i in pending:  # (one that has said it may exit meanwhile)
                code = self.procs[i].wait(10)
                raise RuntimeError(f"generator {i} exited ({code}) before saying {word}")
            if line == word:
                pending.discard(i)
        return time.time()

    def results(self) -> list[dict[str, Any]]:
        """Each generator's result, its arrays loaded."""
        out = []
        for cfg in self.configs:
            result = json.loads(Path(cfg["out"] + ".result.json").read_text())
            for name in result.pop("arrays"):
                values = array.array("d")
                with open(f"{cfg['out']}.{name}.bin", "rb") as fh:
                    values.frombytes(fh.read())
                result[name] = values
            out.append(result)
        return out

    def stop(self) -> None:
        """End every generator that is still running."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def split(items: list[Any], parts: int) -> list[list[Any]]:
    """`items` dealt round-robin into `parts` lists."""
    return [items[i::parts] for i in range(parts)]


def merged(results: list[dict[str, Any]], name: str) -> array.array[float]:
    """One array of every generator's `name`."""
    out = array.array("d")
    for r in results:
        out.extend(r[name])
    return out


def calls_of(results: list[dict[str, Any]], kind: str) -> list[tuple[float, float, float, float]]:
    """Every call record (scheduled, sent, done, status) of `kind`."""
    flat = merged(results, f"calls_{kind}")
    return [tuple(flat[i : i + 4]) for i in range(0, len(flat), 4)]  # type: ignore[misc]


def summed(results: list[dict[str, Any]], key: str) -> int:
    """The sum of a counter over generators."""
    return int(sum(r[key] for r in results))


def print_gaps(results: list[dict[str, Any]], t0: float, limit: int = 10) -> None:
    """The first gaps streams saw (if any), times from `t0`."""
    gaps = sorted((g for r in results for g in r["gap_details"]), key=lambda g: g["t"])
    for g in gaps[:limit]:
        print(
            f"    gap: ws {g['ws']} had {g['after']}, got {g['got']} ({g['type']}) at "
            f"{g['t'] - t0:+.2f} s, {g['since_connect']:.2f} s after connect #{g['connects']} "
            f"(resumes {g['resumes']}, sent Last-Event-ID {g['sent_id'] or 'none'})"
        )


def statuses(records: list[tuple[float, float, float, float]]) -> dict[str, int]:
    """Calls by status (or transport error)."""
    out: dict[str, int] = {}
    for record in records:
        name = ERROR_NAMES.get(record[3], str(int(record[3])))
        out[name] = out.get(name, 0) + 1
    return out


class Profiler:
    """py-spy (`pip install py-spy` into .venv) on every process of a server, as they appear."""

    def __init__(self, server: Server, out: Path, seconds: float) -> None:
        self.server, self.out, self.seconds = server, out, seconds
        self.procs: list[subprocess.Popen[bytes]] = []
        self.files: list[Path] = []
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        seen: set[int] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for pid in self.server.pids():
                if pid in seen:
                    continue
                seen.add(pid)
                out = self.out / f"py-spy-{pid}.folded"
                command = [str(BIN / "py-spy"), "record", "--pid", str(pid), "--duration",
                           str(int(self.seconds)), "--rate", "100", "--format", "raw",
                           "--nonblocking", "--output", str(out)]  # fmt: skip
                self.procs.append(subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL))  # fmt: skip
                self.files.append(out)
            time.sleep(0.05)

    def report(self, top: int = 20) -> None:
        """Wait for the recordings; print each process's heaviest frames of the service's own
        code (inclusive) and its heaviest frames by self time."""
        self.thread.join()
        for proc in self.procs:
            try:
                proc.wait(self.seconds + 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for path in self.files:
            if not path.exists():
                continue
            total, inclusive, own = folded(path)
            print(f"\n  py-spy {path.name} ({total} samples of busy time, 100/s):")
            ours = [(n, k) for k, n in inclusive.items() if _shown(k)]
            for n, frame in sorted(ours, reverse=True)[:top]:
                print(f"    {100 * n / total:5.1f} % {frame}")
            print("    by self time:")
            for n, frame in sorted(((n, k) for k, n in own.items()), reverse=True)[:8]:
                print(f"    {100 * n / total:5.1f} % {frame}")

    def stop(self) -> None:
        """End any recording still running."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)


def _shown(frame: str) -> bool:
    """The service's own frames, and imports as one, without the outer plumbing."""
    plumbing = ("mechamental/cli.py", "mechamental/middleware.py", "mechamental/cors.py")
    if frame.startswith("_find_and_load ("):
        return True
    return "mechamental/" in frame and not any(p in frame for p in plumbing)


def folded(path: Path) -> tuple[int, dict[str, int], dict[str, int]]:
    """A py-spy raw file: total samples, samples by function (inclusive, each function once
    per stack) and by innermost function."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        frames = [frame.split(":")[0] for frame in stack.split(";")]
        for name in set(frames):
            inclusive[name] = inclusive.get(name, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n
    return total, inclusive, own


# -- generator side ---------------------------------------------------------------------------


class Calls:
    """Keep-alive HTTP/1.1 connections, at most `size` requests in flight."""

    def __init__(self, port: int, size: int) -> None:
        self.port = port
        self.gate = asyncio.Semaphore(size)
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self.waiting = 0

    async def fetch(
        self, method: str, path: str, bearer: str, body: bytes = b""
    ) -> tuple[float, bytes]:
        """(status, body); status < 0 for a transport error (REFUSED, RESET, OTHER)."""
        status, payload, _sent = await self.call(method, path, bearer, body)
        return status, payload

    async def call(
        self,
        method: str,
        path: str,
        bearer: str,
        body: bytes = b"",
        stamp: tuple[dict[bytes, float], bytes] | None = None,
    ) -> tuple[float, bytes, float]:
        """(status, body, time sent); a reused connection closed by the server is retried once.

        `stamp` (a dict and a key) gets the time the request is written, for latencies of
        events that may arrive before its answer.
        """
        head = (
            f"{method} {path} HTTP/1.1\r\nhost: {HOST}\r\nauthorization: Bearer {bearer}\r\n"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.waiting += 1
        async with self.gate:
            self.waiting -= 1
            for attempt in range(2):
                sent = time.time()
                while self.idle and self.idle[0][2] < sent - IDLE_SECONDS:  # oldest first
                    self.idle.pop(0)[1].close()
                reused = attempt == 0 and bool(self.idle)
                try:
                    if reused:
                        reader, writer, _at = self.idle.pop()
                    else:
                        reader, writer = await asyncio.open_connection(HOST, self.port)
                        sent = time.time()
                except ConnectionRefusedError:
                    return REFUSED, b"", sent
                except OSError:
                    return OTHER, b"", sent
                try:
                    if stamp is not None:
                        stamp[0][stamp[1]] = sent
                    writer.write(head)
                    raw = await reader.readuntil(b"\r\n\r\n")
                    status = int(raw[9:12])
                    length = 0
                    at = raw.lower().find(b"content-length:")
                    if at >= 0:
                        length = int(raw[at + 15 : raw.find(b"\r\n", at)])
                    payload = await reader.readexactly(length) if length else b""
                except (asyncio.IncompleteReadError, ConnectionError, OSError) as exc:
                    writer.close()
                    partial = getattr(exc, "partial", b"")
                    if reused and attempt == 0 and not partial:
                        continue  # the server closed an idle connection: nothing was read
                    return RESET, b"", sent
                if b"connection: close" in raw.lower():
                    writer.close()
                else:
                    self.idle.append((reader, writer, time.time()))
                return float(status), payload, sent
        return OTHER, b"", time.time()

    def close(self) -> None:
        """Close the idle connections."""
        for _reader, writer, _at in self.idle:
            writer.close()
        self.idle.clear()


class Stream(asyncio.Protocol):
    """One EventSource: reconnects after `retry:` + jitter with Last-Event-ID; checks order."""

    __slots__ = ("bad_resumes", "buf", "connected_at", "connects", "doubled", "drops", "events",
                 "events_at_go", "gen", "head_seen", "last", "last_id", "lost", "path",
                 "reconnected_at", "refused", "request", "resets", "resumes", "retry",
                 "sent_id", "transport", "want_retry", "ws")  # fmt: skip

    def __init__(self, gen: Generator, ws: str, bearer: str) -> None:
        self.gen = gen
        self.ws = ws
        self.request = (
            f"GET /v1/orgs/{ORG}/workspaces/{ws}/sync/stream HTTP/1.1\r\nhost: {HOST}\r\n"
            f"accept: text/event-stream\r\nauthorization: Bearer {bearer}\r\n"
        ).encode()
        self.last = -1
        self.last_id = b""
        self.sent_id = b""
        self.retry = 3.0  # EventSource's default until `retry:` arrives
        self.buf = b""
        self.head_seen = False
        self.want_retry = True
        self.transport: asyncio.Transport | None = None
        self.connects = self.resumes = self.bad_resumes = self.resets = 0
        self.events = self.events_at_go = self.lost = self.doubled = 0
        self.drops = self.refused = 0
        self.connected_at = 0.0
        self.reconnected_at = 0.0  # first `sync.connected` after the generator's mark

    def connect(self) -> None:
        """Open a connection (now)."""
        task = asyncio.ensure_future(self._open())
        self.gen.opening.add(task)
        task.add_done_callback(self.gen.opening.discard)

    async def _open(self) -> None:
        try:
            await self.gen.loop.create_connection(lambda: self, HOST, self.gen.port)
        except OSError:
            self.refused += 1
            self._later()

    def _later(self) -> None:
        if not self.gen.stopping:
            self.gen.loop.call_later(self.retry + random.random() * JITTER, self.connect)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is no subclass)
        self.head_seen = False
        self.want_retry = True
        self.buf = b""
        self.sent_id = self.last_id
        resume = b"last-event-id: %s\r\n" % self.last_id if self.last_id else b""
        transport.write(self.request + resume + b"\r\n")  # type: ignore[attr-defined]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.drops += 1
        self._later()

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.head_seen:
            self.buf += data
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = int(self.buf[9:12])
            data, self.buf = self.buf[end + 4 :], b"\n"
            self.head_seen = True
            if status != 200:
                self.gen.stream_statuses[status] = self.gen.stream_statuses.get(status, 0) + 1
                assert self.transport is not None
                self.transport.close()
                return
        buf = self.buf + data
        cut = buf.rfind(b"\n\n")
        if cut < 0:
            self.buf = buf
            self._ended()
            return
        # The rest keeps the frame end's last newline: a frame that follows in the same chunk
        # starts with `id:` right after it, and is found by its "\nid: " like the others.
        body, self.buf = buf[: cut + 2], buf[cut + 1 :]
        if self.want_retry:  # the hint opens the response, before sync.connected
            at = body.find(b"retry: ")
            if at >= 0:
                self.retry = int(body[at + 7 : body.find(b"\n", at)]) / 1000
                self.want_retry = False
        start = body.find(b"\nid: ")
        while start >= 0:
            dash = body.find(b"-", start)
            line_end = body.find(b"\n", dash)
            seq = int(body[start + 5 : dash])
            kind_end = body.find(b"\n", line_end + 8)
            kind = body[line_end + 8 : kind_end]
            if kind[:5] == b"sync.":
                if kind == b"sync.connected":
                    self._connected(seq, body[start + 5 : line_end], now)
                elif kind == b"sync.reset":
                    self.resets += 1
                    self.last, self.last_id = seq, body[start + 5 : line_end]
            else:
                if seq > self.last:
                    if seq != self.last + 1:
                        self.lost += seq - self.last - 1
                        self.gen.gap(self, seq, kind, now)
                    self.last, self.last_id = seq, body[start + 5 : line_end]
                else:
                    self.doubled += 1
                self.events += 1
                if self.gen.recording:
                    self.gen.delivered(kind, body, kind_end, now)
            start = body.find(b"\nid: ", kind_end)
        self._ended()

    def _ended(self) -> None:
        if self.buf.endswith(b"\r\n0\r\n\r\n") and self.transport is not None:
            self.transport.close()  # the response ended (sync.timeout): reconnect

    def _connected(self, seq: int, eid: bytes, now: float) -> None:
        self.connects += 1
        self.connected_at = now
        if self.gen.mark and not self.reconnected_at and now >= self.gen.mark:
            self.reconnected_at = now
        if self.last < 0:
            self.last, self.last_id = seq, eid
        elif eid == self.sent_id:
            self.resumes += 1
        else:  # not resumed where it was: what lies between is lost to it
            self.bad_resumes += 1
            if seq > self.last:
                self.lost += seq - self.last
            self.last, self.last_id = seq, eid


class Generator:
    """One generator process: its workspaces' streams and traffic."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.port: int = cfg["port"]
        self.loop = asyncio.get_running_loop()
        self.rng = random.Random(cfg["seed"])
        self.stopping = False
        self.recording = False
        self.mark = 0.0
        self.stream_statuses: dict[int, int] = {}
        self.gaps: list[dict[str, Any]] = []
        self.streams: list[Stream] = []
        self.users: list[tuple[str, str]] = []  # (workspace, bearer) per stream's user
        self.sent: dict[bytes, float] = {}  # token -> when its request was sent
        self.lat_commit = array.array("d")
        self.lat_update = array.array("d")
        self.lat_view = array.array("d")
        self.calls: dict[str, array.array[float]] = {
            k: array.array("d") for k in ("join", "viewing", "put")
        }
        self.http = Calls(self.port, cfg.get("pool", 64))
        self.writer = token("bench-writer", "admin")
        self.inflight: set[asyncio.Task[None]] = set()
        self.opening: set[asyncio.Future[None]] = set()
        self.skipped = 0
        self.counter = 0
        self.traffic_over = False
        self.gen_cpu = self.gen_wall = 0.0
        self.storm_cpu = self.storm_wall = 0.0  # from the mark to every stream resumed
        self.watching: asyncio.Task[None] | None = None
        self.minutes: dict[bytes, float] = {}

    # -- what the streams call --------------------------------------------------------------

    def gap(self, stream: Stream, seq: int, kind: bytes, now: float) -> None:
        """Note the first gaps in detail (which stream, where, how long after its connect)."""
        if len(self.gaps) < 50:
            self.gaps.append({
                "ws": stream.ws, "after": stream.last, "got": seq, "type": kind.decode(),
                "t": now, "since_connect": now - stream.connected_at, "connects": stream.connects,
                "resumes": stream.resumes, "sent_id": stream.sent_id.decode(),
            })  # fmt: skip

    def delivered(self, kind: bytes, body: bytes, at: int, now: float) -> None:
        """An event reached a stream: its latencies."""
        j = body.find(b'"occurred_at":"', at)
        if j >= 0:
            j += 15
            minute = body[j : j + 16]  # 2026-12-04T18:44
            base = self.minutes.get(minute)
            if base is None:
                base = datetime.fromisoformat(minute.decode() + ":00+00:00").timestamp()
                self.minutes[minute] = base
            k = body.find(b'"', j)
            self.lat_commit.append(now - base - float(body[j + 17 : k - 1]))
        if kind == b"workspace.updated":
            j = body.find(CHANGED, at)
            if j >= 0:
                j += len(CHANGED)
                sent = self.sent.get(body[j : body.find(b'"', j)])
                if sent is not None:
                    self.lat_update.append(now - sent)
        elif kind == b"presence.viewing":
            j = body.find(VIEWED, at)
            if j >= 0:
                j += len(VIEWED)
                sent = self.sent.get(body[j : body.find(b'"', j)])
                if sent is not None:
                    self.lat_view.append(now - sent)

    # -- setup --------------------------------------------------------------------------------

    async def open_streams(self) -> None:
        """Every stream of our workspaces, 200 connects at a time; wait until all are live."""
        per_ws = self.cfg["viewers"]
        for w, ws in enumerate(self.cfg["workspaces"]):
            for v in range(per_ws):
                bearer = token(f"viewer-{self.cfg['index']}-{w}-{v}")
                self.streams.append(Stream(self, ws, bearer))
                self.users.append((ws, bearer))
        for i in range(0, len(self.streams), 200):
            for s in self.streams[i : i + 200]:
                s.connect()
            batch = self.streams[i : i + 200]
            await self.until(lambda b=batch: all(s.connects for s in b), 120, "a batch")  # type: ignore[misc]
        await self.until(lambda: all(s.connects for s in self.streams), 120, "streams connected")

    async def until(self, check: Any, limit: float, what: str) -> bool:
        """Poll `check` every 10 ms; False (and a note) after `limit` seconds."""
        deadline = time.monotonic() + limit
        while not check():
            if time.monotonic() > deadline:
                self.say_err(f"timed out waiting for {what}")
                return False
            await asyncio.sleep(0.01)
        return True

    async def join_all(self) -> None:
        """Every stream's user joins presence (not measured)."""
        path = f"/v1/orgs/{ORG}/workspaces/%s/sync/presence/join"

        async def one(ws: str, bearer: str) -> None:
            for _ in range(5):
                status, _ = await self.http.fetch("POST", path % ws, bearer, b"null")
                if status == 200:
                    return
                await asyncio.sleep(1)
            raise RuntimeError(f"join answered {status}")

        await asyncio.gather(*(one(ws, b) for ws, b in self.users))

    async def read_heads(self) -> dict[str, int]:
        """Each of our workspaces' head (`workspaces.event_seq`) from the database."""
        source = self.cfg["heads"]
        if "sqlite" in source:
            conn = sqlite3.connect(f"file:{source['sqlite']}?mode=ro", uri=True, timeout=10)
            try:
                rows = conn.execute(
                    "SELECT workspace_id, event_seq FROM workspaces WHERE org_id = ?", (ORG,)
                ).fetchall()
            finally:
                conn.close()
        else:
            import asyncpg

            pg = await asyncpg.connect(source["dsn"])
            try:
                rows = await pg.fetch(
                    "SELECT workspace_id, event_seq FROM workspaces WHERE org_id = $1", ORG
                )
            finally:
                await pg.close()
        return {str(r[0]): int(r[1]) for r in rows}

    async def quiet(self, seconds: float, limit: float) -> None:
        """Wait until no stream received an event for `seconds` (the setup has settled)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before = sum(s.events for s in self.streams)
            await asyncio.sleep(seconds)
            if sum(s.events for s in self.streams) == before:
                return

    # -- traffic ------------------------------------------------------------------------------

    def spawn(self, coro: Any) -> None:
        if len(self.inflight) >= self.cfg.get("max_inflight", 2000):
            coro.close()
            self.skipped += 1
            return
        task = self.loop.create_task(coro)
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def call(self, kind: str, method: str, path: str, bearer: str, body: bytes,
                   due: float, key: bytes = b"") -> None:  # fmt: skip
        stamp = (self.sent, key) if key else None
        status, _payload, sent = await self.http.call(method, path, bearer, body, stamp)
        self.calls[kind].extend((due, sent, time.time(), status))

    def update(self, due: float) -> None:
        """A workspace update of a random workspace of ours."""
        self.counter += 1
        key = b"u%d-%d" % (self.cfg["index"], self.counter)
        ws = self.rng.choice(self.cfg["workspaces"])
        body = b'{"description": "%s"}' % key
        self.spawn(self.call("put", "PUT", f"/v1/orgs/{ORG}/workspaces/{ws}", self.writer, body,
                             due, key))  # fmt: skip

    def view(self, due: float) -> None:
        """A random user of ours views a new resource."""
        self.counter += 1
        key = b"r%d-%d" % (self.cfg["index"], self.counter)
        ws, bearer = self.rng.choice(self.users)
        path = (f"/v1/orgs/{ORG}/workspaces/{ws}/sync/presence/viewing"
                f"?resource_type=doc&resource_id={key.decode()}")  # fmt: skip
        self.spawn(self.call("viewing", "POST", path, bearer, b"null", due, key))

    def refresh(self, due: float, i: int) -> None:
        """The next user in turn refreshes presence (a join)."""
        ws, bearer = self.users[i % len(self.users)]
        path = f"/v1/orgs/{ORG}/workspaces/{ws}/sync/presence/join"
        self.spawn(self.call("join", "POST", path, bearer, b"null", due))

    async def paced(self, rate: float, fire: Any, until: float) -> None:
        """Call `fire(due, i)` `rate` times a second (ticks of 2 ms) until `until` or stop."""
        if rate <= 0:
            return
        started, fired = time.time(), 0
        while not self.traffic_over and time.time() < until:
            now = time.time()
            due_count = int((now - started) * rate) + 1  # call i is due at started + i / rate
            while fired < due_count:
                fire(started + fired / rate, fired)
                fired += 1
            await asyncio.sleep(0.002)

    async def traffic(self) -> None:
        """Updates, viewing changes and refreshes for `seconds` (0: until `stop`)."""
        cfg = self.cfg
        until = time.time() + (cfg["seconds"] or 1e9)
        refresh_rate = len(self.users) / cfg["refresh"] if cfg["refresh"] else 0
        order = list(range(len(self.users)))
        self.rng.shuffle(order)
        cpu0, wall0 = time.process_time(), time.time()
        await asyncio.gather(
            self.paced(cfg["update_rate"], lambda due, i: self.update(due), until),
            self.paced(cfg["viewing_rate"], lambda due, i: self.view(due), until),
            self.paced(
                refresh_rate, lambda due, i: self.refresh(due, order[i % len(order)]), until
            ),
        )
        self.gen_cpu, self.gen_wall = time.process_time() - cpu0, time.time() - wall0

    # -- the run ------------------------------------------------------------------------------

    def say(self, word: str) -> None:
        print(word, flush=True)

    def say_err(self, text: str) -> None:
        print(f"  [gen {self.cfg['index']}] {text}", file=sys.stderr, flush=True)

    async def run(self) -> None:
        commands = asyncio.StreamReader()
        await self.loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
        await self.open_streams()
        if self.cfg["join"]:
            await self.join_all()
            await self.quiet(1.0, 60)
        self.say("ready")
        traffic: asyncio.Task[None] | None = None
        while True:
            raw = await commands.readline()
            line = raw.decode().split()
            if not raw:
                self.say_err("stdin closed: ending")
                return
            if not line:
                continue
            if line[0] == "go":
                for s in self.streams:
                    s.events_at_go = s.events
                self.recording = True
                traffic = self.loop.create_task(self.traffic())
                if self.cfg["seconds"]:
                    traffic.add_done_callback(lambda _t: self.say("stopped"))
            elif line[0] == "mark":
                self.mark = float(line[1])
                self.storm_cpu = time.process_time()
                self.watching = self.loop.create_task(self.watch_resumed())
            elif line[0] == "stop":
                self.traffic_over = True
                if traffic is not None:
                    await traffic
                self.say("stopped")
            elif line[0] == "settle":
                break
        if self.inflight:
            await asyncio.wait(list(self.inflight), timeout=60)
        await self.finish(self.gen_cpu, self.gen_wall)

    async def watch_resumed(self) -> None:
        """Say `resumed` once every stream has connected again after the mark."""
        await self.until(lambda: all(s.reconnected_at for s in self.streams), 300, "resumes")
        self.storm_cpu = time.process_time() - self.storm_cpu
        self.storm_wall = time.time() - self.mark
        self.say("resumed")

    async def finish(self, cpu: float, wall: float) -> None:
        """Wait until every stream is at its workspace's head (or the deadline); write results."""
        deadline = time.monotonic() + self.cfg.get("settle_seconds", 60)
        heads = await self.read_heads()
        while time.monotonic() < deadline:
            heads = await self.read_heads()
            if all(s.last >= heads[s.ws] for s in self.streams):
                break
            await asyncio.sleep(0.5)
        behind = [heads[s.ws] - s.last for s in self.streams if s.last < heads[s.ws]]
        self.stopping = True
        expected = sum(heads[s.ws] for s in self.streams)
        out = self.cfg["out"]
        arrays = {"lat_commit": self.lat_commit, "lat_update": self.lat_update,
                  "lat_view": self.lat_view,
                  "reconnected_at": array.array("d", [s.reconnected_at for s in self.streams]),
                  **{f"calls_{k}": v for k, v in self.calls.items()}}  # fmt: skip
        for name, values in arrays.items():
            with open(f"{out}.{name}.bin", "wb") as fh:  # noqa: ASYNC230  (after the run)
                values.tofile(fh)
        result = {
            "arrays": list(arrays),
            "streams": len(self.streams),
            "generator_cpu": cpu,
            "wall": wall,
            "storm_cpu": self.storm_cpu,
            "storm_wall": self.storm_wall,
            "delivered": sum(s.events - s.events_at_go for s in self.streams),
            "lost": sum(s.lost for s in self.streams) + sum(behind),
            "gaps": sum(s.lost for s in self.streams),
            "behind_streams": len(behind),
            "behind_events": sum(behind),
            "doubled": sum(s.doubled for s in self.streams),
            "resets": sum(s.resets for s in self.streams),
            "bad_resumes": sum(s.bad_resumes for s in self.streams),
            "connects": sum(s.connects for s in self.streams),
            "resumes": sum(s.resumes for s in self.streams),
            "refused": sum(s.refused for s in self.streams),
            "drops": sum(s.drops for s in self.streams),
            "stream_statuses": {str(k): v for k, v in self.stream_statuses.items()},
            "skipped": self.skipped,
            "gap_details": self.gaps,
            "expected_heads_sum": expected,
            "at_head": sum(1 for s in self.streams if s.last == heads[s.ws]),
        }
        Path(out + ".result.json").write_text(json.dumps(result))  # noqa: ASYNC240
        for s in self.streams:
            if s.transport is not None:
                s.transport.abort()
        self.http.close()
        self.say("done")


async def generator_main(cfg: dict[str, Any]) -> None:
    """A generator process's life."""
    gen = Generator(cfg)
    await gen.run()


if __name__ == "__main__":
    import uvloop

    raise_nofile()
    with open(sys.argv[1]) as fh:
        config = json.load(fh)
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(generator_main(config))
