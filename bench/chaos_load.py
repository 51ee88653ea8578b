"""The chaos run's load generator, in its own process: streams, writes and presence calls.

Usage (by bench/chaos.py): chaos_load.py CONFIG.json. It prints `ready` once every stream
is connected, runs until a `quiesce` line arrives on stdin, then stops writing, lets
visitors leave, waits until every stream has caught up with its workspace's head and
presence has settled, writes what it saw to the result file and prints `done`.

Streams behave as EventSource does: honour `retry:`, resume with `Last-Event-ID`, and
alternate between the two API processes on every reconnect. Each stream only splits the
`id:`/`event:` fields of a frame (JSON is parsed for `sync.connected` alone), which keeps
1,000 streams at a few percent of one core.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp
import asyncpg
import jwt
import uvloop

HOST = "127.0.0.1"
STREAM_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=45)
CALL_TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(slots=True)
class Logical:
    """One EventSource: every connection it made and every event it received."""

    idx: int
    ws: str
    user: str
    timeout: int
    first_start: int | None = None
    last_id: str | None = None
    last_seq: int = -1
    events: list[tuple[int, str]] = field(default_factory=list)
    connects: int = 0
    resumes: int = 0
    timeouts: int = 0
    resets: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    drops: int = 0
    idle_drops: int = 0
    refused: int = 0
    opened_at: float = 0.0
    ended: str | None = None
    live: bool = False


def log(msg: str) -> None:
    """Progress, on stderr (the driver's stdout carries the protocol)."""
    print(f"  [load] {msg}", file=sys.stderr, flush=True)


class Load:
    """All traffic of the run."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.org = cfg["org"]
        self.ports: list[int] = cfg["api_ports"]
        self.rng = random.Random(cfg["seed"])
        self.tokens: dict[str, str] = {}
        self.streams: list[Logical] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.base: list[str] = []
        self.extra: dict[str, float] = {}  # created workspaces still alive -> created at
        self.busy: set[str] = set()
        self.writes: list[dict[str, Any]] = []
        self.statuses: Counter[str] = Counter()
        self.server_errors: list[dict[str, Any]] = []
        self.presence_calls = 0
        self.quiet = False
        self.stopping = False
        self.write_seq = 0
        self.inflight: set[asyncio.Task[None]] = set()
        self.writing: set[asyncio.Task[None]] = set()

    # -- plumbing -----------------------------------------------------------------------

    def token(self, user: str, role: str = "member") -> str:
        """A JWT for `user` in the org (cached)."""
        if user not in self.tokens:
            claims = {"sub": user, "org_id": self.org, "role": role, "exp": int(time.time()) + 7200}
            self.tokens[user] = jwt.encode(claims, self.cfg["jwt_secret"], algorithm="HS256")
        return self.tokens[user]

    def url(self, port: int, path: str) -> str:
        return f"http://{HOST}:{port}/v1/orgs/{self.org}/workspaces{path}"

    def note(self, kind: str, port: int, status: int, body: bytes) -> None:
        """Count a response; keep every 5xx with its time and whether it shows a traceback."""
        self.statuses[f"{kind} {status}"] += 1
        if status >= 500:
            text = body[:2000].decode(errors="replace")
            self.server_errors.append({
                "t": time.time(), "kind": kind, "port": port, "status": status,
                "traceback": "Traceback" in text or 'File "' in text, "body": text[:300],
            })  # fmt: skip

    async def call(
        self, kind: str, method: str, path: str, user: str, body: Any = None
    ) -> tuple[int | None, bytes]:
        """One API call on a random process; refused connections move to the other one."""
        first = self.rng.randrange(2)
        for attempt in range(2):
            port = self.ports[(first + attempt) % 2]
            headers = {"authorization": f"Bearer {self.tokens[user]}"}
            data = None if body is None else json.dumps(body).encode()
            if data is not None:
                headers["content-type"] = "application/json"
            try:
                async with self.http.request(
                    method, self.url(port, path), headers=headers, data=data, timeout=CALL_TIMEOUT
                ) as resp:
                    payload = await resp.read()
                    self.note(kind, port, resp.status, payload)
                    return resp.status, payload
            except aiohttp.ClientConnectorError:
                self.statuses[f"{kind} refused"] += 1
                continue  # nothing was sent: safe to try the other process
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                self.statuses[f"{kind} {type(exc).__name__}"] += 1
                return None, b""
        return None, b""

    # -- streams ------------------------------------------------------------------------

    async def run_stream(self, s: Logical) -> None:
        """Connect, read, reconnect like EventSource until the run stops or the workspace goes."""
        retry = 3.0  # EventSource's default until the server's `retry:` arrives
        n = s.idx
        while not self.stopping:
            port = self.ports[n % 2]
            n += 1
            headers = {
                "accept": "text/event-stream",
                "authorization": f"Bearer {self.token(s.user)}",
            }
            if s.last_id is not None:
                headers["last-event-id"] = s.last_id
            url = self.url(port, f"/{s.ws}/sync/stream?timeout={s.timeout}")
            try:
                async with self.sse.get(url, headers=headers, timeout=STREAM_TIMEOUT) as resp:
                    if resp.status != 200:
                        body = await resp.read()
                        self.note("stream", port, resp.status, body)
                        if resp.status == 404:
                            s.ended = "404"
                            s.problems.append(f"404 at {time.time():.1f}: {body[:200]!r}")
                            return
                        if resp.status in (401, 403):
                            s.problems.append(f"stream answered {resp.status}")
                            s.ended = str(resp.status)
                            return
                    else:
                        self.statuses["stream 200"] += 1
                        retry = await self.read_events(s, resp, retry)
            except aiohttp.ClientConnectorError:
                s.refused += 1
            except TimeoutError:
                s.idle_drops += 1
            except (aiohttp.ClientError, OSError):
                s.drops += 1
            finally:
                s.live = False
            if s.ended is not None:
                return
            await asyncio.sleep(retry)

    async def read_events(self, s: Logical, resp: aiohttp.ClientResponse, retry: float) -> float:
        """Parse SSE frames until the connection ends; the reconnect delay to use next."""
        sent = s.last_id
        fields: dict[bytes, bytes] = {}
        async for raw in resp.content:
            line = raw.rstrip(b"\r\n")
            if line:
                if not line.startswith(b":"):
                    name, _, value = line.partition(b":")
                    fields[name] = value[1:] if value.startswith(b" ") else value
                continue
            if b"retry" in fields:
                retry = int(fields[b"retry"]) / 1000
            if b"id" in fields and b"event" in fields:
                self.dispatch(s, fields, sent)
            fields = {}
        return retry

    def dispatch(self, s: Logical, fields: dict[bytes, bytes], sent: str | None) -> None:
        """Record one event of a stream."""
        eid = fields[b"id"].decode()
        kind = fields[b"event"].decode()
        seq = int(eid.split("-", 1)[0])
        s.last_id, s.last_seq = eid, seq
        if kind == "sync.connected":
            s.connects += 1
            s.live = True
            self.spawn(self.join(s))  # as a front end does on EventSource `open`
            resumed = json.loads(fields.get(b"data", b"{}"))["data"].get("resumed")
            if s.first_start is None:
                s.first_start = seq
                s.opened_at = time.time()
            elif sent is None:
                s.problems.append("reconnected without an id")
            elif not resumed or eid != sent:
                s.problems.append(f"resume from {sent} started at {eid} (resumed={resumed})")
            else:
                s.resumes += 1
        elif kind == "sync.reset":
            s.resets.append(
                {"t": time.time(), "id": eid, "data": fields.get(b"data", b"").decode()}
            )
        elif kind == "sync.timeout":
            s.timeouts += 1
        else:
            s.events.append((seq, kind))
            if kind == "workspace.deleted":
                s.ended = "deleted"

    async def join(self, s: Logical) -> None:
        """Announce the stream's user; retried with backoff while this connection lasts."""
        connects, delay = s.connects, 1.0
        while s.live and s.connects == connects and not self.stopping:
            status, _ = await self.call("presence", "POST", f"/{s.ws}/sync/presence/join", s.user)
            if status == 200 or status == 404:
                return
            await asyncio.sleep(delay * (0.5 + self.rng.random()))
            delay = min(delay * 2, 16.0)

    def open_stream(self, ws: str, user: str, timeout: int) -> Logical:
        s = Logical(len(self.streams), ws, user, timeout)
        self.streams.append(s)
        self.tasks.append(asyncio.create_task(self.run_stream(s)))
        return s

    # -- writes -------------------------------------------------------------------------

    async def create_base(self) -> None:
        """The workspaces that carry the streams for the whole run."""
        for i in range(self.cfg["workspaces"]):
            for _ in range(20):
                status, body = await self.call(
                    "create", "POST", "", "writer", {"name": f"chaos-{i}", "tags": ["chaos"]}
                )
                if status == 201:
                    self.base.append(json.loads(body)["workspace_id"])
                    break
                await asyncio.sleep(0.5)
            else:
                raise RuntimeError("could not create the base workspaces")

    def record(self, op: str, ws: str, token: str, t0: float, status: int | None) -> None:
        self.writes.append(
            {"op": op, "ws": ws, "token": token, "t0": t0, "t1": time.time(), "status": status}
        )

    async def put(self, ws: str) -> None:
        self.write_seq += 1
        token = f"w{self.write_seq}"
        body: dict[str, Any] = {"description": token}
        if self.rng.random() < 0.1:
            body["tags"] = ["chaos", f"t{self.write_seq % 7}"]
        t0 = time.time()
        try:
            status, _ = await self.call("put", "PUT", f"/{ws}", "writer", body)
            self.record("put", ws, token, t0, status)
        finally:
            self.busy.discard(ws)

    async def create(self) -> None:
        self.write_seq += 1
        token = f"w{self.write_seq}"
        t0 = time.time()
        status, body = await self.call(
            "create", "POST", "", "writer", {"name": f"extra-{token}", "description": token}
        )
        ws = json.loads(body)["workspace_id"] if status == 201 else ""
        self.record("create", ws, token, t0, status)
        if status == 201:
            self.extra[ws] = time.time()
            for k in range(self.cfg["extra_streams"]):
                self.open_stream(ws, f"extra-user-{k}", 3600)

    async def delete(self, ws: str) -> None:
        t0 = time.time()
        try:
            status, _ = await self.call("delete", "DELETE", f"/{ws}", "writer")
            self.record("delete", ws, "", t0, status)
            if status in (200, 204, 404):
                self.extra.pop(ws, None)
        finally:
            self.busy.discard(ws)

    def spawn(self, coro: Any, group: set[asyncio.Task[None]] | None = None) -> None:
        task = asyncio.create_task(coro)
        for tasks in (self.inflight, group if group is not None else self.inflight):
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    async def write_loop(self) -> None:
        """`rate` writes a second: mostly PUTs, some creates and deletes; one at a time per ws."""
        rate, started, i = self.cfg["write_rate"], time.monotonic(), 0
        now = time.time()
        while not self.quiet:
            i += 1
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            if len(self.writing) >= 400:  # the service is stalled: do not pile up more
                self.statuses["write skipped (400 in flight)"] += 1
                continue
            r = self.rng.random()
            now = time.time()
            old = [w for w, t in self.extra.items() if now - t > 10 and w not in self.busy]
            if r < 0.01 and len(self.extra) < 30:
                self.spawn(self.create(), self.writing)
            elif r < 0.02 and old:
                ws = self.rng.choice(old)
                self.busy.add(ws)
                self.spawn(self.delete(ws), self.writing)
            else:
                ws = self.rng.choice(self.base + list(self.extra))
                if ws in self.busy:
                    continue
                self.busy.add(ws)
                self.spawn(self.put(ws), self.writing)

    # -- presence -----------------------------------------------------------------------

    async def presence_loop(self) -> None:
        """Viewing changes of stream holders, and visitors who join, view and leave."""
        rate, started, i = self.cfg["presence_rate"], time.monotonic(), 0
        while not self.quiet:
            i += 1
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            if len(self.inflight) > 400:
                continue
            doc = f"doc-{self.rng.randrange(5)}"
            if self.rng.random() < 0.6:
                s = self.rng.choice(self.streams)
                if s.ended is None:
                    path = f"/{s.ws}/sync/presence/viewing?resource_type=doc&resource_id={doc}"
                    self.spawn(self.presence_call(path, s.user))
                continue
            ws_i = self.rng.randrange(len(self.base))
            user = f"visitor-{ws_i}-{self.rng.randrange(2)}"
            action = self.rng.choice(["join", "viewing", "leave"])
            path = f"/{self.base[ws_i]}/sync/presence/{action}"
            if action == "viewing":
                path += f"?resource_type=doc&resource_id={doc}"
            self.spawn(self.presence_call(path, user))

    async def presence_call(self, path: str, user: str) -> None:
        self.token(user)
        self.presence_calls += 1
        await self.call("presence", "POST", path, user, None)

    async def visitors_leave(self) -> int:
        """Every visitor leaves (retried through outages); how many never got a 200."""

        async def leave(ws: str, user: str) -> bool:
            self.token(user)
            for _ in range(20):
                status, _ = await self.call("presence", "POST", f"/{ws}/sync/presence/leave", user)
                if status == 200:
                    return True
                await asyncio.sleep(1)
            return False

        visitors = [(ws, f"visitor-{i}-{k}") for i, ws in enumerate(self.base) for k in range(2)]
        done = await asyncio.gather(*(leave(ws, user) for ws, user in visitors))
        return done.count(False)

    # -- settling -----------------------------------------------------------------------

    async def heads(self) -> dict[str, int]:
        conn = await asyncpg.connect(self.cfg["dsn"])
        try:
            rows = await conn.fetch(
                "SELECT workspace_id, event_seq FROM workspaces WHERE org_id = $1", self.org
            )
        finally:
            await conn.close()
        return {r["workspace_id"]: int(r["event_seq"]) for r in rows}

    async def presence_mismatches(self, heads: dict[str, int]) -> list[dict[str, Any]]:
        """Workspaces whose members differ from the users holding streams there."""
        expected: dict[str, Counter[str]] = {ws: Counter() for ws in heads}
        reconnecting: set[str] = set()
        for s in self.streams:
            if s.ended is None and s.ws in expected:
                expected[s.ws][s.user] += 1 if s.live else 0
                if not s.live:  # between connections: present (grace), not counted
                    reconnecting.add(s.ws)
        out = []
        for ws in heads:
            status, body = await self.call("check", "GET", f"/{ws}/sync/presence", "writer")
            if status != 200:
                out.append({"ws": ws, "status": status})
                continue
            got = {m["user_id"]: m["connections"] for m in json.loads(body)["members"]}
            want = dict(expected[ws])
            if ws in reconnecting:  # compare who is present, not the connection counts
                got, want = dict.fromkeys(got, 0), dict.fromkeys(want, 0)
            if got != want:
                out.append({"ws": ws, "expected": dict(expected[ws]), "got": got})
        return out

    async def settle(self, limit: float) -> dict[str, Any]:
        """Wait until every live stream is at its head and presence matches the streams."""
        deadline = time.monotonic() + limit
        while True:
            heads = await self.heads()
            behind = [
                s.idx for s in self.streams if s.ended is None and s.last_seq != heads.get(s.ws)
            ]
            mismatches = await self.presence_mismatches(heads)
            if len(self.statuses) and int(time.monotonic()) % 10 < 2:
                log(
                    f"settling: {len(behind)} streams behind, {len(mismatches)} presence mismatches"
                )
            if (not behind and not mismatches) or time.monotonic() > deadline:
                return {"behind": behind, "presence_mismatches": mismatches, "heads": heads}
            await asyncio.sleep(2)

    async def progress(self) -> None:
        """A line every 30 s while the load runs."""
        while True:
            await asyncio.sleep(30)
            acked = sum(
                1 for w in self.writes if w["status"] in (200, 201, 204) and w["op"] != "check"
            )
            live = sum(1 for s in self.streams if s.live)
            log(
                f"{acked}/{len(self.writes)} writes acked, {live}/{len(self.streams)} live, "
                f"{len(self.server_errors)} 5xx so far"
            )

    # -- the run ------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        self.sse = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
        self.token("writer", "admin")
        await self.create_base()
        per_ws, users = self.cfg["streams"] // len(self.base), self.cfg["users_per_ws"]
        for w, ws in enumerate(self.base):
            for k in range(per_ws):
                timeout = 60 if self.rng.random() < 0.1 else 3600
                self.open_stream(ws, f"user-{w}-{k % users}", timeout)
                await asyncio.sleep(0.002)
        deadline = time.monotonic() + 120
        while any(s.first_start is None for s in self.streams):
            if time.monotonic() > deadline:
                raise RuntimeError("not every stream connected")
            await asyncio.sleep(0.2)
        log(f"{len(self.streams)} streams connected")
        print("ready", flush=True)
        cpu0, wall0 = time.process_time(), time.time()
        loops = [asyncio.create_task(self.write_loop()), asyncio.create_task(self.presence_loop())]
        reporter = asyncio.create_task(self.progress())
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        cpu, wall = time.process_time() - cpu0, time.time() - wall0
        self.quiet = True
        reporter.cancel()
        await asyncio.gather(*loops)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*list(self.inflight)), 30)
        quiesced_at = time.time()
        log(f"traffic stopped; {len(self.writes)} writes, {self.presence_calls} presence calls")
        unleft = await self.visitors_leave()
        log(f"visitors left ({unleft} could not); waiting for streams and presence to settle")
        settled = await self.settle(self.cfg["settle_seconds"])
        log(
            f"settled: {len(settled['behind'])} streams behind, "
            f"{len(settled['presence_mismatches'])} presence mismatches"
        )
        self.stopping = True
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.sse.close()
        await self.http.close()
        return {
            "cpu_seconds": cpu, "wall_seconds": wall, "quiesced_at": quiesced_at,
            "visitors_not_left": unleft, "presence_calls": self.presence_calls,
            "streams": [asdict(s) for s in self.streams], "writes": self.writes,
            "statuses": dict(self.statuses), "server_errors": self.server_errors,
            "base": self.base, **settled,
        }  # fmt: skip


def main() -> None:
    with open(sys.argv[1]) as fh:
        cfg = json.load(fh)
    result = uvloop.run(Load(cfg).run())
    with open(cfg["result"], "w") as fh:
        json.dump(result, fh)
    print("done", flush=True)


if __name__ == "__main__":
    main()
