"""Real `mechamental serve` processes for the multi-process tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import Tenant
from tests.ports import free_port
from tests.sync.sse import Stream, open_stream

MECHAMENTAL = str(Path(sys.executable).with_name("mechamental"))
START_SECONDS = 120.0  # a process must answer within this (a bound, never a measurement)


def listens_on(pid: int, port: int) -> bool:
    """Whether process `pid` holds the socket listening on loopback `port` (Linux /proc)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(f"{fd_dir}/{fd}") in inodes:
                return True
        except OSError:
            continue
    return False


@dataclass
class ServerProcess:
    """One API process."""

    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    args: tuple[str, ...] = ()  # more `serve` options (e.g. --workers 2)

    async def start(self) -> ServerProcess:
        """Start and wait until it answers /healthz."""
        assert self.log is not None
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
                [MECHAMENTAL, "serve", "--port", str(self.port), "--no-migrate", *self.args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        # Generous: on a starved machine importing the app alone has taken a minute.
        deadline = time.monotonic() + START_SECONDS
        async with httpx.AsyncClient() as client:
            while True:
                assert self.proc.poll() is None, self.log.read_text()[-3000:]
                try:
                    answered = (await client.get(f"{self.url}/healthz")).status_code == 200
                    # free_port() is only free when asked: another process may have taken
                    # the port since (then this one fails to bind), so the answer must come
                    # from this process's own listening socket.
                    if answered and listens_on(self.proc.pid, self.port):
                        return self
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "server did not start"
                await asyncio.sleep(0.1)

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    def signal(self, sig: int) -> None:
        """Send a signal."""
        assert self.proc is not None
        self.proc.send_signal(sig)

    async def wait(self, within: float = 20) -> int:
        """Wait for the process to exit; its exit code."""
        assert self.proc is not None
        deadline = time.monotonic() + within
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, "process did not exit"
            await asyncio.sleep(0.05)
        return self.proc.returncode

    async def kill(self) -> None:
        """SIGKILL and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.wait()


@contextlib.asynccontextmanager
async def lone_server(
    database_url: str, data_dir: Path, **extra: str
) -> AsyncIterator[ServerProcess]:
    """One server process on its own (embedded bus, own prefix), killed afterwards."""
    env = server_env(
        database_url=database_url,
        data_dir=data_dir,
        redis_url=None,
        prefix=f"mmtest-{uuid.uuid4().hex[:12]}",
        **extra,
    )
    proc = ServerProcess(env, log=data_dir / "server.log")
    try:
        yield await proc.start()
    finally:
        await proc.kill()


def server_env(
    *, database_url: str, data_dir: Path, redis_url: str | None, prefix: str, **extra: str
) -> dict[str, str]:
    """The environment of a test server process."""
    from tests.conftest import JWT_SECRET

    env = {k: v for k, v in os.environ.items() if not k.startswith("MECHAMENTAL_")}
    env.update(
        MECHAMENTAL_ENV="test",
        MECHAMENTAL_DATABASE_URL=database_url,
        MECHAMENTAL_DATA_DIR=str(data_dir),
        MECHAMENTAL_SECRET_KEY="test-secret-key-" + "k" * 32,
        MECHAMENTAL_JWT_SECRET=JWT_SECRET,
        MECHAMENTAL_RUN_WORKER="false",
        MECHAMENTAL_LOG_LEVEL="WARNING",
        MECHAMENTAL_LOG_FORMAT="console",
        MECHAMENTAL_REDIS_PREFIX=prefix,
        MECHAMENTAL_RATE_LIMITS="false",  # tests/limits turn them on
    )
    if redis_url:
        env["MECHAMENTAL_REDIS_URL"] = redis_url
    env.update(extra)
    return env


class RedisServer:
    """A throw-away redis-server on its own port (so it can be restarted)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        """Start (empty: no persistence) and wait for PING."""
        import redis

        self.proc = subprocess.Popen(  # noqa: ASYNC220 (returns at once)
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.workdir)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if redis.Redis.from_url(self.url, socket_connect_timeout=1).ping():
                    return
            except (redis.RedisError, OSError):
                pass
            assert time.monotonic() < deadline, "redis-server did not start"
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        """Kill it (its data is gone)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


FAST = {
    "MECHAMENTAL_PRESENCE_GRACE_SECONDS": "1",
    "MECHAMENTAL_SYNC_PROCESS_LEASE_SECONDS": "1",
    "MECHAMENTAL_SYNC_SWEEP_INTERVAL_SECONDS": "0.2",
    "MECHAMENTAL_SYNC_ORPHAN_AFTER_SECONDS": "1",
    "MECHAMENTAL_SYNC_DRAIN_INTERVAL_SECONDS": "0.3",
}


async def launch(procs: list[ServerProcess], env: dict[str, str], tmp_path: Path) -> ServerProcess:
    """Start one more server process."""
    proc = ServerProcess(env, log=tmp_path / f"server-{len(procs)}.log")
    procs.append(proc)
    return await proc.start()


async def stream_on(
    proc: ServerProcess,
    tenant: Tenant,
    ws_id: str,
    role: str = "owner",
    last_event_id: str | None = None,
) -> Stream:
    """Open a stream on one process."""
    headers = {"Authorization": f"Bearer {tenant.tokens[role]}"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    stream = await open_stream(proc.port, f"{tenant.base}/{ws_id}/sync/stream", headers)
    assert stream.status == 200
    return stream


async def create_ws(client: httpx.AsyncClient, proc: ServerProcess, tenant: Tenant) -> str:
    """Create a workspace through one process."""
    response = await client.post(
        f"{proc.url}{tenant.base}", json={"name": "shared"}, headers=tenant.headers()
    )
    assert response.status_code == 201, response.text
    ws_id: str = response.json()["workspace_id"]
    return ws_id
