"""Serving the metrics of `mechamental.metrics`: `GET /metrics`, the metrics port, workers.

`GET /metrics` answers on the main port when `METRICS_TOKEN` is set (Bearer that token,
compared in constant time; 401 otherwise; 404 without a token), and on `METRICS_PORT`
(loopback unless `METRICS_HOST`), served by prometheus-client's own WSGI server in a
thread of each process. Nothing is collected unless one of them is configured.

`serve --workers N` runs prometheus-client's multiprocess mode: `serve` makes a fresh
`PROMETHEUS_MULTIPROC_DIR` per run, every worker writes its values there, and the worker
that answers a scrape (either port: the metrics port is bound with SO_REUSEPORT by each
worker) adds up all of them. A worker that stops removes its live gauges; one that died
is noticed at the next scrape (its pid is gone). Chosen over one port per worker because
Prometheus then needs one target, not N whose numbers change as workers restart.
`mechamental worker` (bucket jobs and webhooks alone) is a process of its own and a target
of its own: it serves its metrics on `METRICS_PORT` (it has no HTTP API for the token).

Readings that stand for the whole service (outbox pending, bucket jobs, presence members)
are read by the answering process at scrape time: three COUNTs on indexes (only the rows
pending, present, or queued/running/failed), cached for `METRICS_READINGS_SECONDS`, one refresh at
a time. Redis' state is the sync hub's own (its lease loop, every 0.5 s): no call per
scrape. Connections in use are sampled by every process each second (and at a scrape).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hmac
import logging
import os
import re
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from wsgiref.simple_server import make_server

from fastapi import APIRouter, Header
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import values as prometheus_values
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler, make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.exceptions import HTTPException
from starlette.responses import Response

from mechamental import metrics
from mechamental.buckets import jobs
from mechamental.buckets.models import bucket_jobs
from mechamental.config import Settings
from mechamental.db import Database
from mechamental.errors import AuthenticationFailed, ErrorBody
from mechamental.services import Component, PeriodicComponent, Services, ServicesDep
from mechamental.sync.events.models import events
from mechamental.sync.hub import EXTRAS_KEY as SYNC_KEY
from mechamental.sync.hub import SyncHub
from mechamental.sync.presence.models import presence_members

log = logging.getLogger("mechamental.exposition")
EXTRAS_KEY = "metrics"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
SAMPLE_SECONDS = 1.0  # how often each process records its connections in use
PORT_REFRESH_SECONDS = 3.0  # the metrics port waits this long for the readings
JOB_STATUSES = (jobs.QUEUED, jobs.RUNNING, jobs.FAILED)
_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")

# Built once (AGENTS.md); each runs on an index over the rows it counts.
_PENDING = select(func.count()).select_from(events).where(events.c.published.is_(False))
_PRESENT = (
    select(func.count()).select_from(presence_members).where(presence_members.c.present.is_(True))
)
_JOBS = (
    select(bucket_jobs.c.status, func.count())
    .where(bucket_jobs.c.status.in_(JOB_STATUSES))
    .group_by(bucket_jobs.c.status)
)


@dataclass(frozen=True, slots=True)
class Readings:
    """What the database said at the last refresh."""

    outbox_pending: int
    presence_members: int
    bucket_jobs: dict[str, int]


def multiprocess_active() -> bool:
    """Whether this process writes its values to the multiprocess files."""
    return bool(os.environ.get(MULTIPROC_ENV)) and bool(
        getattr(prometheus_values.ValueClass, "_multiprocess", False)
    )


def _reap_dead(path: str) -> None:
    """Drop the live gauges of workers that died without stopping (a crash, SIGKILL)."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = _LIVE_FILE.search(name)
        if match is None:
            continue
        pid = int(match[1])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, someone else's


class Scrape(Collector):
    """The families of this process (or of every worker) and the readings, as one collector."""

    def __init__(self, *, db: Database, settings: Settings, extras: dict[str, Any]) -> None:
        self.db = db
        self.extras = extras  # the process's sync hub, when it has one (its Redis state)
        self.readings_seconds = settings.metrics_readings_seconds
        self.readings: Readings | None = None
        self._read_at = float("-inf")
        self._lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = threading.get_ident()
        self._path = os.environ.get(MULTIPROC_ENV, "") if multiprocess_active() else ""
        self._workers = MultiProcessCollector(None, self._path) if self._path else None  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def bind_loop(self) -> None:
        """The event loop (and its thread) that `refresh` runs on."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    async def refresh(self) -> None:
        """Read the database (unless read within `readings_seconds`); keep going if it fails."""
        loop = asyncio.get_running_loop()
        async with self._lock:
            if loop.time() - self._read_at < self.readings_seconds:
                return
            try:
                async with self.db.reader() as conn:
                    pending = (await conn.execute(_PENDING)).scalar_one()
                    present = (await conn.execute(_PRESENT)).scalar_one()
                    rows: list[Any] = list((await conn.execute(_JOBS)).all())
                    counts: dict[str, int] = {str(r[0]): int(r[1]) for r in rows}
            except Exception as exc:
                log.warning("metrics: reading the database failed (%s)", exc)
                self.readings = None  # omitted rather than stale
            else:
                by_status = {status: int(counts.get(status, 0)) for status in JOB_STATUSES}
                self.readings = Readings(int(pending), int(present), by_status)
            self._read_at = loop.time()

    def render(self) -> bytes:
        """The text exposition (call `refresh` first)."""
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Any]:
        """Called by prometheus-client (the metrics port: in its thread)."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._loop_thread:
            future = asyncio.run_coroutine_threadsafe(self.refresh(), loop)
            with contextlib.suppress(Exception):
                future.result(PORT_REFRESH_SECONDS)
        metrics.pool_in_use(self.db.connections_in_use())
        if self._workers is not None:
            _reap_dead(self._path)
            yield from self._workers.collect()  # type: ignore[no-untyped-call]
        else:
            yield from metrics.REGISTRY.collect()
        yield from self._scraped()

    def _scraped(self) -> Iterable[Any]:
        hub: SyncHub | None = self.extras.get(SYNC_KEY)
        readings = self.readings
        return metrics.scraped_families(
            outbox_pending=readings.outbox_pending if readings else None,
            presence_members=readings.presence_members if readings else None,
            bucket_jobs=readings.bucket_jobs if readings else None,
            redis_up=hub.redis_up if hub is not None else None,
        )


class _ReusePortServer(ThreadingWSGIServer):
    """Every worker binds the metrics port; the kernel spreads scrapes among them."""

    allow_reuse_port = True


class MetricsComponent(PeriodicComponent):
    """Collects from startup on, samples connections in use, serves the metrics port."""

    name = "metrics"

    def __init__(self, *, db: Database, settings: Settings, extras: dict[str, Any]) -> None:
        super().__init__(SAMPLE_SECONDS)
        self.settings = settings
        self.scrape = Scrape(db=db, settings=settings, extras=extras)
        self._server: ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    async def start(self) -> None:
        """Turn the hooks on; bind the metrics port if one is configured."""
        metrics.enable()
        self.scrape.bind_loop()
        port = self.settings.metrics_port
        if port is not None:
            host = self.settings.metrics_host
            _ReusePortServer.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self._server = make_server(
                host,
                port,
                make_wsgi_app(self.scrape.registry),
                _ReusePortServer,
                handler_class=_SilentHandler,
            )
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="metrics-port", daemon=True
            )
            self._thread.start()
        await super().start()

    async def tick(self) -> None:
        """Record this process's connections in use."""
        metrics.pool_in_use(self.scrape.db.connections_in_use())

    async def stop(self) -> None:
        """Close the port; a stopping worker's live gauges leave the sums."""
        await super().stop()
        if self._server is not None:
            await asyncio.to_thread(self._server.shutdown)
            self._server.server_close()
            self._server = None
        if self.scrape._path:
            mark_process_dead(os.getpid(), self.scrape._path)  # type: ignore[no-untyped-call]


def metrics_factory(services: Services) -> Component | None:
    """The metrics component when metrics are served (a token or a port)."""
    settings = services.settings
    if settings.metrics_token is None and settings.metrics_port is None:
        return None
    component = MetricsComponent(db=services.db, settings=settings, extras=services.extras)
    services.extras[EXTRAS_KEY] = component
    return component


@contextlib.contextmanager
def multiprocess_dir(settings: Settings, workers: int) -> Iterator[Path | None]:
    """For `serve`: a fresh PROMETHEUS_MULTIPROC_DIR for this run's workers, removed after."""
    if workers < 2 or (settings.metrics_token is None and settings.metrics_port is None):
        yield None
        return
    path = Path(tempfile.mkdtemp(prefix="mechamental-metrics-"))
    os.environ[MULTIPROC_ENV] = str(path)  # the workers (spawned) inherit it
    try:
        yield path
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(path, ignore_errors=True)


# The route (on the main port).
router = APIRouter(tags=["Operations"])
METRICS_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The Prometheus text format",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    401: {"model": ErrorBody, "description": "Not the configured METRICS_TOKEN"},
    404: {"model": ErrorBody, "description": "METRICS_TOKEN is not configured"},
}


@router.get("/metrics", summary="Prometheus metrics", response_model=None, responses=METRICS_DOC)
async def get_metrics(
    services: ServicesDep,
    authorization: Annotated[str | None, Header(description="`Bearer <METRICS_TOKEN>`")] = None,
) -> Response:
    """The service's metrics; Bearer METRICS_TOKEN (or use METRICS_PORT)."""
    token = services.settings.metrics_token
    component: MetricsComponent | None = services.extras.get(EXTRAS_KEY)
    if token is None or component is None:
        raise HTTPException(404)
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        raise AuthenticationFailed()
    await component.scrape.refresh()
    return Response(component.scrape.render(), media_type=CONTENT_TYPE_LATEST)
