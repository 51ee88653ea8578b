"""The chaos run's private cluster: PostgreSQL, Redis, moto, a fault proxy, API and worker.

Everything listens on free loopback ports under one temp dir, so restarting any part
disturbs nothing else on the machine. PostgreSQL is made with `initdb` (as the `postgres`
user when we are root, since initdb refuses root). Every child runs in its own session,
so a Ctrl-C reaches only the driver, which then stops them all (`Cluster.close`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from glob import glob
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"
ORG = "chaos-org"
JWT_SECRET = "chaos-jwt-secret-" + secrets.token_hex(16)
BUCKET_PREFIX = "chaos"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/dev/null",
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def listening(port: int) -> bool:
    """Whether something accepts connections on `port`."""
    try:
        socket.create_connection((HOST, port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_port(
    port: int, proc: subprocess.Popen[bytes] | None, what: str, limit: float = 60
) -> None:
    """Block until `port` accepts connections (or the process died / time ran out)."""
    deadline = time.monotonic() + limit
    while not listening(port):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not listen on {port}")
        time.sleep(0.1)


class TcpFaultProxy:
    """A TCP proxy to moto whose faults are real network behaviour.

    Modes: `ok` forwards; `refuse` stops listening (connection refused); `reset` accepts
    and drops the connection at once; `s3_503` answers every request with an S3 503 error.
    Entering a fault mode also cuts every forwarded connection.
    """

    MODES = ("refuse", "reset", "s3_503")

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.mode = "ok"
        self.server: asyncio.Server | None = None
        self.live: set[asyncio.StreamWriter] = set()
        self.refused_or_failed = 0

    async def start(self) -> None:
        """Listen."""
        if self.server is None:
            self.server = await asyncio.start_server(
                self._client, HOST, self.port, reuse_address=True
            )

    async def set_mode(self, mode: str) -> None:
        """Switch behaviour (`ok` or one of MODES)."""
        self.mode = mode
        for writer in list(self.live):
            writer.transport.abort()
        self.live.clear()
        if mode == "refuse" and self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        elif mode != "refuse":
            await self.start()

    async def close(self) -> None:
        """Stop listening and cut everything."""
        await self.set_mode("refuse")

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.mode == "reset":
            self.refused_or_failed += 1
            writer.transport.abort()
            return
        if self.mode == "s3_503":
            await self._answer_503(reader, writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(HOST, self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        self.live.update((writer, up_writer))
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        self.live.discard(writer)
        self.live.discard(up_writer)

    async def _answer_503(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code>'
            b"<Message>injected by the chaos proxy</Message></Error>"
        )
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            self.refused_or_failed += 1
            writer.write(
                b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/xml\r\n"
                b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )
            await writer.drain()
        writer.close()

    @staticmethod
    async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                dst.close()


class Cluster:
    """All server processes of one chaos run."""

    def __init__(self, *, keep: bool = False) -> None:
        self.keep = keep
        self.dir = Path(tempfile.mkdtemp(prefix="mm-chaos-"))
        self.pg_dir = self.dir / "pg"
        self.pg_port, self.redis_port, self.moto_port = free_port(), free_port(), free_port()
        self.api_ports = [free_port(), free_port()]
        self.api: list[subprocess.Popen[bytes] | None] = [None, None]
        self.redis: subprocess.Popen[bytes] | None = None
        self.moto: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.proxy = TcpFaultProxy(self.moto_port)
        self.children: list[subprocess.Popen[bytes]] = []
        self.closed = False
        self.pg_user = "postgres" if os.geteuid() == 0 else None
        self.database_url = f"postgresql+asyncpg://postgres@{HOST}:{self.pg_port}/mechamental"
        self.dsn = f"postgresql://postgres@{HOST}:{self.pg_port}/mechamental"

    # -- process plumbing ---------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """The settings every mechamental process of the run gets."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MECHAMENTAL_")}
        env.update(AWS_ENV)
        env.update(
            MECHAMENTAL_ENV="production",
            MECHAMENTAL_SECRET_KEY="chaos-secret-" + "k" * 40,
            MECHAMENTAL_JWT_SECRET=JWT_SECRET,
            MECHAMENTAL_DATA_DIR=str(self.dir / "data"),
            MECHAMENTAL_DATABASE_URL=self.database_url,
            MECHAMENTAL_REDIS_URL=f"redis://{HOST}:{self.redis_port}/0",
            MECHAMENTAL_REDIS_PREFIX="chaos",
            MECHAMENTAL_BUCKET_PROVIDER="s3",
            MECHAMENTAL_S3_ENDPOINT_URL=f"http://{HOST}:{self.proxy.port}",
            MECHAMENTAL_BUCKET_PREFIX=BUCKET_PREFIX,
            MECHAMENTAL_BUCKET_MAX_ATTEMPTS="50",
            MECHAMENTAL_BUCKET_BACKOFF_MAX_SECONDS="5",
            MECHAMENTAL_RUN_WORKER="false",
            MECHAMENTAL_RETRY_MS="1000",
            MECHAMENTAL_PRESENCE_TTL_SECONDS="20",
            MECHAMENTAL_PRESENCE_GRACE_SECONDS="5",
            MECHAMENTAL_LOG_LEVEL="WARNING",
            MECHAMENTAL_RATE_LIMITS="false",  # a load generator is one credential
            MECHAMENTAL_LOG_FORMAT="json",
        )
        return env

    def _spawn(
        self, args: list[str], log: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        if self.closed:  # a Ctrl-C during start: the start thread must not spawn more
            raise RuntimeError("cluster closed")
        out = (self.dir / log).open("ab")
        proc = subprocess.Popen(
            args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        self.children.append(proc)
        return proc

    def _as_pg(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", self.pg_user, "--", *args] if self.pg_user else args

    @staticmethod
    def _pg_bin(name: str) -> str:
        found = sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"))
        if found:
            return found[-1]
        path = shutil.which(name)
        if path is None:
            raise RuntimeError(f"{name} not found")
        return path

    # -- PostgreSQL ---------------------------------------------------------------------

    def pg_init(self) -> None:
        """initdb into the temp dir, start, create the database."""
        self.pg_dir.mkdir()
        if self.pg_user:
            entry = pwd.getpwnam(self.pg_user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            os.chown(self.pg_dir, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            self._as_pg(
                [
                    self._pg_bin("initdb"),
                    "-D",
                    str(self.pg_dir),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
        self.pg_start()
        subprocess.run(
            [
                self._pg_bin("createdb"),
                "-h",
                HOST,
                "-p",
                str(self.pg_port),
                "-U",
                "postgres",
                "mechamental",
            ],
            check=True,
        )

    def pg_start(self) -> None:
        """Start the server and wait until it accepts connections."""
        opts = f"-p {self.pg_port} -h {HOST} -k {self.pg_dir} -c max_connections=100"
        subprocess.run(
            self._as_pg(
                [
                    self._pg_bin("pg_ctl"),
                    "-D",
                    str(self.pg_dir),
                    "-o",
                    opts,
                    "-l",
                    str(self.pg_dir / "log"),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def pg_stop(self, mode: str = "fast") -> None:
        """Stop the server (`fast`, or `immediate`: a crash, recovered from the WAL on start)."""
        subprocess.run(
            self._as_pg(
                [
                    self._pg_bin("pg_ctl"),
                    "-D",
                    str(self.pg_dir),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    "60",
                    "stop",
                ]
            ),
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    # -- Redis, moto --------------------------------------------------------------------

    def redis_start(self) -> None:
        """A Redis without persistence: a restart loses everything in it."""
        self.redis = self._spawn(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxclients",
                "2000",
            ],
            "redis.log",
        )
        wait_port(self.redis_port, self.redis, "redis")

    def redis_stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop Redis (SIGTERM or SIGKILL) and wait for it."""
        if self.redis is not None and self.redis.poll() is None:
            self.redis.send_signal(sig)
            self.redis.wait(30)
        self.redis = None

    def moto_start(self) -> None:
        """The moto S3 server (the worker reaches it only through the fault proxy)."""
        env = {**os.environ, **AWS_ENV}
        self.moto = self._spawn(
            [str(BIN / "moto_server"), "-H", HOST, "-p", str(self.moto_port)], "moto.log", env
        )
        wait_port(self.moto_port, self.moto, "moto")

    # -- mechamental --------------------------------------------------------------------

    def prepare_app(self) -> None:
        """Migrate once and create the org."""
        (self.dir / "data").mkdir(exist_ok=True)
        mm = str(BIN / "mechamental")
        subprocess.run([mm, "migrate"], env=self.env(), check=True, stderr=subprocess.DEVNULL)
        subprocess.run(
            [mm, "orgs", "create", "chaos", "--id", ORG],
            env=self.env(),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def api_start(self, i: int) -> None:
        """Start API process `i` on its port and wait until it listens."""
        port = self.api_ports[i]
        self.api[i] = proc = self._spawn(
            [
                str(BIN / "mechamental"),
                "serve",
                "--host",
                HOST,
                "--port",
                str(port),
                "--no-migrate",
            ],
            f"api{i}.log",
            self.env(),
        )
        wait_port(port, proc, f"api {i}")

    def api_kill(self, i: int) -> None:
        """SIGKILL API process `i`."""
        proc = self.api[i]
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(30)
        self.api[i] = None

    def worker_start(self) -> None:
        """The bucket worker, alone in its process."""
        self.worker = self._spawn([str(BIN / "mechamental"), "worker"], "worker.log", self.env())

    def pids(self) -> dict[str, int]:
        """Pids of the mechamental processes now running."""
        out = {f"api{i}": p.pid for i, p in enumerate(self.api) if p is not None}
        if self.worker is not None:
            out["worker"] = self.worker.pid
        return out

    def start(self) -> None:
        """Bring everything up (blocking)."""
        self.pg_init()
        self.redis_start()
        self.moto_start()
        self.prepare_app()
        for i in range(2):
            self.api_start(i)
        self.worker_start()

    def close(self) -> None:
        """Stop every process and remove the temp dir (safe to call twice)."""
        self.closed = True
        for proc in self.children:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                with contextlib.suppress(Exception):
                    proc.wait(10)
        if (self.pg_dir / "postmaster.pid").exists():
            self.pg_stop("immediate")
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
