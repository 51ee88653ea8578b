"""`serve --workers 2`: every scrape, on either port and whichever worker answers, adds up
both workers (prometheus-client's multiprocess mode); a killed worker's streams leave."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.conftest import Tenant
from tests.helpers import eventually
from tests.metrics.conftest import SCRAPE, TOKEN, parse, value
from tests.sync.procs import (
    FAST,
    START_SECONDS,
    ServerProcess,
    create_ws,
    free_port,
    listens_on,
    server_env,
    stream_on,
)

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]
# Not /healthz: `ServerProcess.start` asks that until it answers.
LIVEZ = {"method": "GET", "route": "/livez", "status": "200"}
REQUESTS = "mechamental_http_requests_total"
STREAMS = "mechamental_sync_streams"
DELAY = "mechamental_sync_fanout_delay_seconds_count"


def workers_of(parent: int, *, every: bool = False) -> list[int]:
    """The pids whose parent is `parent`: uvicorn's workers (`every`: any child)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            worker = every or (b"spawn_main" in cmdline and b"resource_tracker" not in cmdline)
            if worker and int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry))
    return found


def multiproc_dir(pid: int) -> Path:
    """The PROMETHEUS_MULTIPROC_DIR `serve` gave its workers."""
    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    value = next(e for e in env if e.startswith(b"PROMETHEUS_MULTIPROC_DIR="))
    return Path(value.split(b"=", 1)[1].decode())


def own_value(directory: Path, kind: str, pid: int, name: str, **labels: str) -> float:
    """One worker's own value of a sample, read from its file alone."""
    source = directory / f"{kind}_{pid}.db"
    if not source.exists():
        return 0.0
    with tempfile.TemporaryDirectory() as alone:
        shutil.copy(source, alone)
        collector = MultiProcessCollector(None, alone)
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in collector.collect()
            for s in family.samples
        }
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def fresh_get(url: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """One request on a connection of its own (so that either worker may take it)."""
    async with httpx.AsyncClient(timeout=20) as client:
        return await client.get(url, headers=headers)


@pytest.fixture
async def workers_server(
    database_url: str, redis_url: str, prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[ServerProcess, int]]:
    """`serve --workers 2` with metrics on both ports; afterwards it and its workers end
    (a SIGKILLed uvicorn parent would leave its workers running)."""
    metrics_port = free_port()
    env = server_env(
        database_url=database_url,
        data_dir=tmp_path,
        redis_url=redis_url,
        prefix=prefix,
        MECHAMENTAL_METRICS_TOKEN=TOKEN,
        MECHAMENTAL_METRICS_PORT=str(metrics_port),
        MECHAMENTAL_METRICS_READINGS_SECONDS="0",
        **FAST,
    )
    server = ServerProcess(env, log=tmp_path / "server.log", args=("--workers", "2"))
    try:
        await server.start()
        yield server, metrics_port
    finally:
        assert server.proc is not None
        children = workers_of(server.proc.pid, every=True)
        if server.proc.poll() is None:
            server.signal(signal.SIGTERM)  # uvicorn stops its workers
            with contextlib.suppress(AssertionError):
                await server.wait()
        await server.kill()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


async def test_two_workers_add_up(
    tenant_db: Tenant, workers_server: tuple[ServerProcess, int]
) -> None:
    server, metrics_port = workers_server
    assert server.proc is not None
    workers = await eventually(lambda: _workers(server.proc.pid), lambda w: len(w) == 2)
    directory = multiproc_dir(workers[0])
    # Each worker binds the metrics port while it starts (then it serves): wait for both.
    await eventually(
        lambda: _listening(workers, metrics_port), lambda every: every, within=START_SECONDS
    )

    # Requests until both workers have answered some (the kernel picks who accepts).
    sent = 0
    while not all(own_value(directory, "counter", w, REQUESTS, **LIVEZ) for w in workers):
        assert sent < 5000, "one worker never took a connection"
        answers = await asyncio.gather(*(fresh_get(f"{server.url}/livez") for _ in range(10)))
        assert all(a.status_code == 200 for a in answers)
        sent += 10
    # A request is counted once its response is out: the last ones may still be counting.
    await eventually(lambda: _total(directory, workers, REQUESTS, **LIVEZ), lambda n: n == sent)

    # Any scrape, on either port, answered by either worker, shows the sum.
    for url in [f"{server.url}/metrics"] * 4 + [f"http://127.0.0.1:{metrics_port}/metrics"] * 4:
        response = await fresh_get(url, SCRAPE)
        assert response.status_code == 200, response.text
        assert value(parse(response.text), REQUESTS, **LIVEZ) == sent

    # Streams on both workers: the gauge is their sum; a killed worker's streams leave it.
    tenant = tenant_db
    async with httpx.AsyncClient(timeout=20) as client:
        ws_id = await create_ws(client, server, tenant)
    streams = []
    while len(streams) < 40 and not all(
        own_value(directory, "gauge_livesum", w, STREAMS) for w in workers
    ):
        streams.append(await stream_on(server, tenant, ws_id))
        await streams[-1].next()
    held = [own_value(directory, "gauge_livesum", w, STREAMS) for w in workers]
    assert all(held) and sum(held) == len(streams)
    scraped = parse((await fresh_get(f"{server.url}/metrics", SCRAPE)).text)
    assert value(scraped, STREAMS) == len(streams)

    # One event, committed by one worker: both write it to their streams, and both tell
    # its delay (the other one learns the commit time from the Redis bus).
    async with httpx.AsyncClient(timeout=20) as client:
        url = f"{server.url}{tenant.base}/{ws_id}"
        renamed = await client.put(url, json={"name": "both"}, headers=tenant.headers())
        assert renamed.status_code == 200
    for stream in streams:
        await stream.until("workspace.updated")
    delays = await eventually(
        lambda: _scrape_value(metrics_port, DELAY), lambda n: n >= value(scraped, DELAY) + 2
    )
    assert delays == value(scraped, DELAY) + 2

    os.kill(workers[0], signal.SIGKILL)
    # Until it has exited, its socket is still among the metrics port's: a connection the
    # kernel queued there is reset.
    await eventually(lambda: _exited(workers[0]), lambda gone: gone)
    # uvicorn starts a replacement worker, which joins the metrics port's group as it
    # starts; if that one is killed in turn (uvicorn's health check, on a loaded machine),
    # a scrape queued on its socket is reset. Such a scrape says nothing about the sums.
    survivors = await eventually(
        lambda: _scrape_value(metrics_port, STREAMS, reset_is_none=True),
        lambda n: n == held[1],
    )
    assert survivors == held[1]
    for stream in streams:
        stream.close()


async def _total(directory: Path, workers: list[int], name: str, **labels: str) -> float:
    return sum(own_value(directory, "counter", w, name, **labels) for w in workers)


async def _listening(pids: list[int], port: int) -> bool:
    return all(listens_on(pid, port) for pid in pids)


async def _exited(pid: int) -> bool:
    return exited(pid)


def exited(pid: int) -> bool:
    """Whether `pid` is gone or a zombie (its descriptors closed)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def _workers(parent: int) -> list[int]:
    return workers_of(parent)


async def _scrape_value(port: int, name: str, *, reset_is_none: bool = False) -> float | None:
    try:
        response = await fresh_get(f"http://127.0.0.1:{port}/metrics", SCRAPE)
    except (httpx.ReadError, httpx.RemoteProtocolError):
        if reset_is_none:
            return None
        raise
    return value(parse(response.text), name)
