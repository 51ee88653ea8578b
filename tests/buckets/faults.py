"""A fault-injecting HTTP proxy in front of the moto server (test infrastructure only).

It runs its own event loop in a thread, so it serves in-process workers and worker
subprocesses alike. Faults are real network behaviour: the port stops listening
(connection refused), chosen S3 operations answer with an S3 error, or are held until
the test releases them. Every operation is logged in order for assertions.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web
from tests.ports import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True, slots=True)
class Op:
    """One S3 request seen by the proxy."""

    method: str
    bucket: str
    subresources: frozenset[str]
    phase: str  # "start" | "end" | "failed"

    @property
    def name(self) -> str:
        """The S3 operation, as far as the tests need to tell them apart."""
        sub = self.subresources
        if not self.bucket:
            return "ListBuckets"
        if self.method == "PUT" and not sub:
            return "CreateBucket"
        if self.method == "DELETE" and not sub:
            return "DeleteBucket"
        if self.method == "POST" and "delete" in sub:
            return "DeleteObjects"
        if self.method == "GET" and "versions" in sub:
            return "ListObjectVersions"
        return f"{self.method} {','.join(sorted(sub))}"


Predicate = Callable[[Op], bool]


def s3_error(status: int, code: str, message: str) -> web.Response:
    """An S3-style XML error response."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    )
    return web.Response(status=status, body=body.encode(), content_type="application/xml")


class FaultProxy:
    """Forwards to `upstream`, except where a fault says otherwise."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log: list[Op] = []
        self._lock = threading.Lock()
        self._failures: list[tuple[Predicate, int, str]] = []
        self._holds: list[Predicate] = []
        self._held = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._gate: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._session: aiohttp.ClientSession | None = None

    # -- control (from the test thread) ------------------------------------------------

    def _call(self, coro: Any) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=10)

    def start(self, *, listening: bool = True) -> FaultProxy:
        """Start the proxy thread (optionally with the port not yet listening)."""
        self._thread.start()
        self._call(self._setup())
        if listening:
            self.up()
        return self

    def up(self) -> None:
        """Listen (the endpoint is reachable)."""
        self._call(self._listen())

    def down(self) -> None:
        """Stop listening: new connections are refused."""
        self._call(self._unlisten())

    def fail(
        self, predicate: Predicate, status: int = 503, code: str = "ServiceUnavailable"
    ) -> None:
        """Answer matching operations with an S3 error instead of forwarding them."""
        with self._lock:
            self._failures.append((predicate, status, code))

    def clear_failures(self) -> None:
        """Forward everything again."""
        with self._lock:
            self._failures.clear()

    def hold(self, predicate: Predicate) -> None:
        """Keep matching operations waiting until `release()`."""
        with self._lock:
            self._holds.append(predicate)

    def wait_held(self, timeout: float = 30) -> None:
        """Block until some operation is being held."""
        if not self._held.wait(timeout):
            raise AssertionError("no request was held")

    def release(self) -> None:
        """Let held operations (and later matching ones) through."""
        with self._lock:
            self._holds.clear()
        self._loop.call_soon_threadsafe(self._open_gate)

    def ops(self, name: str, bucket: str | None = None, phase: str = "end") -> list[Op]:
        """Logged operations named `name` (for `bucket`) that reached `phase`."""
        with self._lock:
            return [
                op
                for op in self.log
                if op.name == name and op.phase == phase and bucket in (None, op.bucket)
            ]

    def index(self, name: str, bucket: str, phase: str) -> int:
        """Position in the log of the first such operation (-1 if none)."""
        with self._lock:
            for i, op in enumerate(self.log):
                if op.name == name and op.bucket == bucket and op.phase == phase:
                    return i
        return -1

    def close(self) -> None:
        """Stop everything."""
        self.release()
        self._call(self._teardown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    # -- inside the proxy loop -----------------------------------------------------------

    def _open_gate(self) -> None:
        if self._gate is not None:
            self._gate.set()

    async def _setup(self) -> None:
        self._gate = asyncio.Event()
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()

    async def _listen(self) -> None:
        if self._site is None and self._runner is not None:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
            await self._site.start()

    async def _unlisten(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None

    async def _teardown(self) -> None:
        await self._unlisten()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def _record(self, op: Op) -> None:
        with self._lock:
            self.log.append(op)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        bucket = request.path.lstrip("/").split("/", 1)[0]
        sub = frozenset(parse_qs(request.query_string, keep_blank_values=True))
        op = Op(request.method, bucket, sub, "start")
        self._record(op)
        with self._lock:
            failure = next(((s, c) for p, s, c in self._failures if p(op)), None)
            held = any(p(op) for p in self._holds)
        if failure is not None:
            self._record(Op(op.method, bucket, sub, "failed"))
            return s3_error(failure[0], failure[1], "injected by the test proxy")
        if held:
            self._held.set()
            assert self._gate is not None
            await self._gate.wait()
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["Host"] = request.host
        assert self._session is not None
        async with self._session.request(
            request.method, self.upstream + request.path_qs, headers=headers, data=body
        ) as upstream:
            payload = await upstream.read()
            out = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
            self._record(Op(op.method, bucket, sub, "end"))
            return web.Response(status=upstream.status, body=payload, headers=out)
