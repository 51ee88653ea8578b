"""Every Prometheus metric family of the service, and the one-line hooks that move them.

This module is the one owner of metric names, labels and help texts (`exposition` renders
them; components call the small functions below). It imports nothing of ours, so any
layer may call it without an import cycle.

Labels only ever take values from fixed sets: a method, a route *template*, a status, an
event type, an outcome, a presence call kind, a job status. Never an org, workspace,
user or token (Mercure #463: per-topic labels grew `/metrics` to megabytes).

Under `serve --workers N` every worker writes its values to memory-mapped files in
`PROMETHEUS_MULTIPROC_DIR` (prometheus-client's multiprocess mode, set up by `serve`) and
whichever worker answers a scrape adds them all up; gauges say how (`multiprocess_mode`).
Cost (measured, this machine): a counter `inc` ~0.3 µs in one process, ~1 µs multiprocess
(an mmap write under a lock); a histogram `observe` about twice that. The request hook
caches label children, so a request pays two dict lookups, an `inc` and an `observe`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

# Our families live in their own registry: prometheus-client's default one also holds
# process and platform collectors, which are not multiprocess-aware.
REGISTRY = CollectorRegistry(auto_describe=True)
UNMATCHED = "unmatched"  # the `route` of a request no route matched (never its URL)
OTHER = "other"
STREAM_ROUTE = "/v1/orgs/{org_id}/workspaces/{workspace_id}/sync/stream"
_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# HTTP.
HTTP_REQUESTS = Counter(
    "mechamental_http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ("method", "route", "status"),
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "mechamental_http_request_duration_seconds",
    "Time from request to the end of its response (a stream: until it is live).",
    ("method", "route"),
    buckets=_FAST,
    registry=REGISTRY,
)

# Sync.
SYNC_STREAMS = Gauge(
    "mechamental_sync_streams",
    "Event streams open now.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
STREAM_OPENS = Counter(
    "mechamental_sync_stream_opens_total",
    "Stream opens by outcome: live (fresh), resumed, reset, refused (any error answer).",
    ("outcome",),
    registry=REGISTRY,
)
SYNC_EVENTS = Counter(
    "mechamental_sync_events_total",
    "Events committed by this service, by type.",
    ("type",),
    registry=REGISTRY,
)
FANOUT_DELAY = Histogram(
    "mechamental_sync_fanout_delay_seconds",
    "From an event's commit to its write on the sockets of a process's live streams.",
    buckets=_FAST,
    registry=REGISTRY,
)
SLOW_CONSUMER_CLOSES = Counter(
    "mechamental_sync_slow_consumer_closes_total",
    "Streams cut off because their client fell too far behind (STREAM_QUEUE_LIMIT).",
    registry=REGISTRY,
)
BUS_FRAMES = Counter(
    "mechamental_sync_bus_frames_total",
    "Frames this process received from other processes (Redis): only workspaces it serves.",
    registry=REGISTRY,
)
BUS_CHANNELS = Gauge(
    "mechamental_sync_bus_channels",
    "Workspace channels this process is subscribed to on Redis now.",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)
PRESENCE_CALLS = Counter(
    "mechamental_presence_calls_total",
    "Presence calls by kind: join, leave, viewing, list.",
    ("kind",),
    registry=REGISTRY,
)

# Buckets and dependencies.
BUCKET_JOB_FAILURES = Counter(
    "mechamental_bucket_job_failures_total",
    "Bucket job attempts that failed (retried or final).",
    registry=REGISTRY,
)
DB_POOL_IN_USE = Gauge(
    "mechamental_db_pool_in_use",
    "PostgreSQL connections checked out now (0 on SQLite).",
    multiprocess_mode="livesum",
    registry=REGISTRY,
)

# Read when scraped, by the process that answers (not kept in the files): one database
# reading stands for the whole service, and Redis is one for all processes.
SCRAPED_HELP = {
    "mechamental_sync_outbox_pending": "Committed events not yet published.",
    "mechamental_presence_members": "Members announced present, in every workspace.",
    "mechamental_bucket_jobs": "Bucket jobs by status (queued, running, failed).",
    "mechamental_redis_up": "1 if this process reaches Redis, else 0 (absent without Redis).",
}


def scraped_families(
    *,
    outbox_pending: int | None,
    presence_members: int | None,
    bucket_jobs: dict[str, int] | None,
    redis_up: bool | None,
) -> Iterable[GaugeMetricFamily]:
    """The families read at scrape time, from the values `exposition` read (None: omitted)."""
    if outbox_pending is not None:
        yield _gauge("mechamental_sync_outbox_pending", outbox_pending)
    if presence_members is not None:
        yield _gauge("mechamental_presence_members", presence_members)
    if bucket_jobs is not None:
        family = GaugeMetricFamily(
            "mechamental_bucket_jobs", SCRAPED_HELP["mechamental_bucket_jobs"], labels=("status",)
        )
        for status, count in bucket_jobs.items():
            family.add_metric((status,), count)
        yield family
    if redis_up is not None:
        yield _gauge("mechamental_redis_up", int(redis_up))


def _gauge(name: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, SCRAPED_HELP[name], value=value)


# Hooks (one call each at the place the thing happens). They do nothing until `enable`:
# a process that serves no metrics pays one test of a global per hook.
_on = False
_request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
_opens = {o: STREAM_OPENS.labels(o) for o in ("live", "resumed", "reset", "refused")}
_events: dict[str, Counter] = {}
_presence = {k: PRESENCE_CALLS.labels(k) for k in ("join", "leave", "viewing", "list")}


def enable() -> None:
    """Start collecting (the app does, at startup, when metrics are served)."""
    global _on
    _on = True


def enabled() -> bool:
    """Whether this process collects."""
    return _on


def observe_request(method: str, route: str | None, status: int, started: float) -> None:
    """One answered request (the middleware): count, duration, and a refused stream open."""
    if not _on:
        return
    key = (method if method in _METHODS else OTHER, route or UNMATCHED, status)
    children = _request_children.get(key)
    if children is None:
        children = (
            HTTP_REQUESTS.labels(key[0], key[1], str(status)),
            HTTP_DURATION.labels(key[0], key[1]),
        )
        _request_children[key] = children
    children[0].inc()
    children[1].observe(time.perf_counter() - started)
    if route == STREAM_ROUTE and status != 200:
        _opens["refused"].inc()


def stream_opened(outcome: str) -> None:
    """A stream's response started: `live` (fresh), `resumed` or `reset`."""
    if _on:
        _opens[outcome].inc()
        SYNC_STREAMS.inc()


def stream_closed() -> None:
    """An open stream ended (any way)."""
    if _on:
        SYNC_STREAMS.dec()


def event_committed(type_: str) -> None:
    """An event committed in this process (the outbox publisher)."""
    if not _on:
        return
    child = _events.get(type_)
    if child is None:
        child = _events[type_] = SYNC_EVENTS.labels(type_)
    child.inc()


def fanout_written(committed_at: Iterable[float]) -> None:
    """A batch written to a channel's streams: one observation per event, none per stream."""
    if not _on:
        return
    now = time.time()
    for at in committed_at:
        if at:  # 0: not committed just now (read from the log), no delay to tell
            FANOUT_DELAY.observe(max(0.0, now - at))


def slow_consumer_closed() -> None:
    """A stream was cut off for falling behind."""
    if _on:
        SLOW_CONSUMER_CLOSES.inc()


def bus_frame() -> None:
    """A frame arrived from the bus."""
    if _on:
        BUS_FRAMES.inc()


def bus_channels(delta: int) -> None:
    """Subscriptions confirmed (+) or ended (-)."""
    if _on:
        BUS_CHANNELS.inc(delta)


def presence_call(kind: str) -> None:
    """A presence call: join, leave, viewing or list."""
    if _on:
        _presence[kind].inc()


def bucket_job_failed() -> None:
    """A bucket job attempt failed."""
    if _on:
        BUCKET_JOB_FAILURES.inc()


def pool_in_use(count: int) -> None:
    """This process's database connections in use (sampled; see `exposition`)."""
    if _on:
        DB_POOL_IN_USE.set(count)
