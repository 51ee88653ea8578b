"""A real 3-master Redis Cluster on loopback ports, for the tests that run on a cluster.

Three `redis-server --cluster-enabled yes` (no persistence: a restarted master comes back
empty, with its slots, as after a crash) joined by `redis-cli --cluster create`. Missing
`redis-server` or `redis-cli` skips the test, except under CI=true where it fails
(`tests.tools.require_tools`).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
from redis.cluster import RedisCluster

from tests.ports import free_port
from tests.tools import require_tools

MASTERS = 3
READY_SECONDS = 60.0  # a bound for a loaded machine, never a measurement
BUS_OFFSET = 10000  # a node's cluster bus listens on its port + 10000


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000, at most 65535) is free too."""
    for _ in range(200):
        port = free_port()
        if port + BUS_OFFSET > 65535:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + BUS_OFFSET))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


@dataclass
class RedisClusterNodes:
    """The running cluster: its URL, its nodes, and a way to restart one master."""

    directory: Path
    ports: list[int]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        """`MECHAMENTAL_REDIS_URL` for the cluster (one startup node is enough)."""
        return f"redis+cluster://127.0.0.1:{self.ports[0]}"

    def _start(self, index: int) -> subprocess.Popen[bytes]:
        port = self.ports[index]
        log = (self.directory / f"redis-{port}.log").open("ab")
        with log:
            return subprocess.Popen(
                [
                    "redis-server",
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", str(self.directory / f"nodes-{port}.conf"),
                    "--cluster-node-timeout", "2000",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(self.directory),
                    "--daemonize", "no",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def node(self, index: int) -> redis.Redis:
        """A plain client to one node (cluster commands, INFO, KEYS)."""
        return redis.Redis(port=self.ports[index], socket_timeout=5)

    def wait_ok(self) -> None:
        """Until every node answers and reports `cluster_state:ok`."""
        deadline = time.monotonic() + READY_SECONDS
        while True:
            states = []
            for index in range(len(self.ports)):
                try:
                    with contextlib.closing(self.node(index)) as client:
                        states.append(client.cluster("info")["cluster_state"])
                except (redis.RedisError, OSError, KeyError):
                    states.append("down")
            if all(state == "ok" for state in states):
                return
            assert time.monotonic() < deadline, f"cluster not ok: {states}"
            time.sleep(0.1)

    def start(self) -> None:
        """Start the masters, create the cluster, wait for it."""
        self.procs = [self._start(i) for i in range(len(self.ports))]
        for index in range(len(self.ports)):
            self._wait_up(index)
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        created = subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *nodes,
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            capture_output=True,
            text=True,
            timeout=READY_SECONDS,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        self.wait_ok()

    def _wait_up(self, index: int) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            assert self.procs[index].poll() is None, self.log(index)
            try:
                with contextlib.closing(self.node(index)) as client:
                    if client.ping():
                        return
            except (redis.RedisError, OSError):
                pass
            assert time.monotonic() < deadline, f"redis-server {self.ports[index]} did not start"
            time.sleep(0.05)

    def log(self, index: int) -> str:
        """The end of one node's log."""
        path = self.directory / f"redis-{self.ports[index]}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self, index: int) -> None:
        """SIGTERM one master and wait for it to exit (its data goes: nothing is saved)."""
        proc = self.procs[index]
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def restart(self, index: int) -> None:
        """Restart one master on its port and nodes.conf (same id and slots, no data)."""
        self.stop(index)
        self.procs[index] = self._start(index)
        self._wait_up(index)
        self.wait_ok()

    def flush(self) -> None:
        """Delete every key on every master."""
        for index in range(len(self.ports)):
            with contextlib.closing(self.node(index)) as client:
                client.flushall()

    def keys(self, pattern: str) -> list[bytes]:
        """Every key matching `pattern`, over all masters."""
        found: list[bytes] = []
        for index in range(len(self.ports)):
            with contextlib.closing(self.node(index)) as client:
                found += list(client.scan_iter(match=pattern, count=1000))
        return found

    def drop_prefix(self, prefix: str) -> None:
        """Delete every key under `prefix` (each on its own node)."""
        for index in range(len(self.ports)):
            with contextlib.closing(self.node(index)) as client:
                for key in client.scan_iter(match=f"{prefix}:*", count=1000):
                    client.delete(key)

    def serving(self, key: str) -> int:
        """The index of the master that serves `key`'s slot."""
        with contextlib.closing(self.node(0)) as client:
            slot = int(client.cluster("keyslot", key))
            for start, end, primary, *_ in client.execute_command("CLUSTER SLOTS"):
                if int(start) <= slot <= int(end):
                    return self.ports.index(int(primary[1]))
        raise AssertionError(f"no master serves slot {slot}")

    def client(self) -> RedisCluster:
        """A (sync) cluster client."""
        return RedisCluster(host="127.0.0.1", port=self.ports[0])

    def kill_all(self) -> None:
        """End every node."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs:
            proc.wait()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """A 3-master Redis Cluster for the session (skip without redis-server, fail under CI)."""
    require_tools(
        {
            "redis-server": shutil.which("redis-server") is not None,
            "redis-cli": shutil.which("redis-cli") is not None,
        }
    )
    nodes = RedisClusterNodes(
        tmp_path_factory.mktemp("redis-cluster"), [cluster_port() for _ in range(MASTERS)]
    )
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.kill_all()
