"""The clients' shared sans-IO stream core, fed the lines a server writes: what it delivers,
where it resumes, how long it backs off, when it asks for a fresh credential.

Pure functions of their input, so no server is needed here; the real-server tests are
test_live.py and test_presence_watch.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from mechamental_client import RateLimitError
from mechamental_client._core import Credentials, error_for, retry_after_seconds
from mechamental_client._live import (
    MAX_BACKOFF_SECONDS,
    Deliver,
    GaveUp,
    PresenceTiming,
    Reconnect,
    Refetch,
    StreamState,
)

TAG = "0badcafe"


def frame(event: str, seq: int | None, data: dict[str, object] | None = None) -> list[str]:
    lines = [] if seq is None else [f"id: {seq}-{TAG}"]
    body = {"type": event, "actor_id": "u", "data": data or {}}
    return [*lines, f"event: {event}", f"data: {json.dumps(body)}", ""]


def state(asked: list[int], last_event_id: str | None = None, **kw: int) -> StreamState:
    def token() -> str:
        asked.append(1)
        return f"key-{len(asked)}"

    return StreamState(
        "ws",
        path="/stream",
        credentials=Credentials(token),
        last_event_id=last_event_id,
        timeout=3600,
        max_attempts=kw.get("max_attempts"),
    )


def feed(stream: StreamState, lines: list[str]) -> list[object]:
    return [step for line in lines if (step := stream.feed(line)) is not None]


def test_resume_point_dedup_retry_hint_and_heartbeat() -> None:
    stream = state([])
    assert "Last-Event-ID" not in stream.connect().headers
    opening = ["retry: 400", "", *frame("sync.connected", 5, {"heartbeat_seconds": 2})]
    assert feed(stream, opening) == []
    assert stream.last_event_id == f"5-{TAG}"  # a fresh stream resumes after its snapshot
    steps = feed(stream, [*frame("workspace.updated", 6), *frame("workspace.updated", 6)])
    steps += feed(stream, [": keep-alive", "", *frame("workspace.updated", 5)])
    assert [s.event.id for s in steps if isinstance(s, Deliver)] == [f"6-{TAG}"]
    again = stream.connect()
    assert again.headers["Last-Event-ID"] == f"6-{TAG}"
    assert again.timeout.read == 2 * 2 + 5  # the watchdog follows the server's heartbeat
    first, second = stream.failed(), stream.failed()
    assert 0.2 <= first <= 0.4 and 0.4 <= second <= 0.8  # from the 400 ms hint, jittered
    for _ in range(20):
        last = stream.failed()
    assert MAX_BACKOFF_SECONDS / 2 <= last <= MAX_BACKOFF_SECONDS
    feed(stream, frame("workspace.updated", 7))
    assert 0.2 <= stream.failed() <= 0.4  # a frame arrived: the failures start over


def test_unauthorized_and_refused_ask_for_a_fresh_credential() -> None:
    asked: list[int] = []
    stream = state(asked, f"3-{TAG}")
    assert stream.connect().headers["Authorization"] == "Bearer key-1"
    assert stream.connect().headers["Authorization"] == "Bearer key-1"  # kept while it works
    assert feed(stream, frame("sync.unauthorized", None)) == [Reconnect()]
    retried = stream.connect()
    assert retried.headers == {"Last-Event-ID": f"3-{TAG}", "Authorization": "Bearer key-2"}


def test_reset_moves_the_resume_point_only_once_refetched() -> None:
    stream = state([], f"40-{TAG}")
    reset = feed(stream, frame("sync.reset", 12, {"reason": "unknown_event_id"}))
    assert reset == [Refetch(f"12-{TAG}", "unknown_event_id")]
    assert stream.last_event_id == f"40-{TAG}"  # not yet: a failed read gets the reset again
    assert isinstance(reset[0], Refetch)
    stream.reset_to(reset[0])
    steps = feed(stream, frame("workspace.updated", 13))  # below the old point, yet new
    assert [s.event.id for s in steps if isinstance(s, Deliver)] == [f"13-{TAG}"]
    (deleted,) = feed(stream, frame("workspace.deleted", 14))
    assert isinstance(deleted, Deliver) and deleted.last


def test_gives_up_after_max_attempts_and_presence_refreshes_inside_the_ttl() -> None:
    stream = state([], max_attempts=2)
    stream.failed()
    with pytest.raises(GaveUp):
        stream.failed()
    timing = PresenceTiming(60)
    assert timing.refresh_seconds * 2 < 60 and timing.retry_seconds < timing.refresh_seconds


def test_a_refused_open_waits_at_least_retry_after() -> None:
    stream = state([])
    stream.connect()
    capped = httpx.Response(
        429,
        headers={"Retry-After": "40"},
        json={"error": "TOO_MANY_STREAMS", "message": "m", "details": {"scope": "user"}},
    )
    assert stream.refused(capped) == 40.0  # far beyond the first backoff (about 1 s)
    error = error_for(capped)
    assert isinstance(error, RateLimitError)
    assert (error.code, error.retry_after) == ("TOO_MANY_STREAMS", 40.0)
    assert error.details == {"scope": "user"}

    stream.connect()
    unavailable = httpx.Response(503, json={"error": "UNAVAILABLE", "message": "m"})
    assert stream.refused(unavailable) <= MAX_BACKOFF_SECONDS  # no header: the own backoff

    later = datetime(2026, 12, 3, 18, 0, 30, tzinfo=UTC)
    dated = httpx.Response(503, headers={"Retry-After": format_datetime(later, usegmt=True)})
    assert retry_after_seconds(dated, now=later - timedelta(seconds=30)) == 30.0
    assert retry_after_seconds(dated, now=later + timedelta(seconds=5)) == 0.0
    assert retry_after_seconds(httpx.Response(503, headers={"Retry-After": "soon"})) is None
