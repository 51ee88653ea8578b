"""The live part of both clients without I/O: resume state, de-duplication, backoff,
heartbeat watchdog and presence timing.

`StreamState` decides everything about a workspace stream (what to open next, what each
line means, how long to wait after a failure) and the sync and async clients only open
connections, read lines and sleep as it says. So the two can never resume differently.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import httpx

from mechamental_client._core import (
    RETRYABLE_STATUSES,
    Credentials,
    error_for,
    retry_after_seconds,
)
from mechamental_client._sse import Event, FrameParser, decode, event_seq, parse_event

DEFAULT_RETRY_SECONDS = 1.0  # until the server's `retry:` hint is known
DEFAULT_HEARTBEAT_SECONDS = 15.0  # until `sync.connected` says the server's
MAX_BACKOFF_SECONDS = 15.0
CONNECT_TIMEOUT_SECONDS = 30.0


class Status(StrEnum):
    """Where a stream is."""

    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Connect:
    """The next request to open (its read timeout is the heartbeat watchdog)."""

    path: str
    params: dict[str, str]
    headers: dict[str, str]
    timeout: httpx.Timeout


@dataclass(frozen=True, slots=True)
class Deliver:
    """Hand this event to the caller (after `workspace.deleted`: then stop)."""

    event: Event
    last: bool = False


@dataclass(frozen=True, slots=True)
class Refetch:
    """`sync.reset`: read the workspace again and hand it over as a `Reset`."""

    id: str | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Reconnect:
    """The server ended this stream on purpose (`sync.timeout`, `sync.unauthorized`)."""


Step = Deliver | Refetch | Reconnect


class GaveUp(ConnectionError):
    """`max_attempts` connections in a row failed."""


class StreamState:
    """One workspace stream across all its connections."""

    def __init__(
        self,
        workspace_id: str,
        *,
        path: str,
        credentials: Credentials,
        last_event_id: str | None,
        timeout: int,
        max_attempts: int | None,
    ) -> None:
        self.workspace_id = workspace_id
        self.path = path
        self.credentials = credentials
        self.last_event_id = last_event_id
        self.last_seq = event_seq(last_event_id)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.retry_seconds = DEFAULT_RETRY_SECONDS
        self.heartbeat_seconds = DEFAULT_HEARTBEAT_SECONDS
        self.failures = 0  # connections in a row that ended in an error
        self.status = Status.CONNECTING
        self.connections = 0
        self.opened_from: list[str | None] = []  # each opened connection's resume point
        self._fresh_credential = False
        self._parser = FrameParser()

    def connect(self) -> Connect:
        """The request to open next (a resume from the last event received, if any)."""
        self.status = Status.CONNECTING if self.connections == 0 else Status.RECONNECTING
        self.connections += 1
        self._parser = FrameParser()
        params = {"timeout": str(self.timeout)}
        headers = {}
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        fresh, self._fresh_credential = self._fresh_credential, False
        headers["Authorization"] = f"Bearer {self.credentials.get(fresh=fresh)}"
        timeout = httpx.Timeout(CONNECT_TIMEOUT_SECONDS, read=self.watchdog_seconds())
        return Connect(self.path, params, headers, timeout)

    def watchdog_seconds(self) -> float:
        """How long the stream may say nothing (the server sends a heartbeat comment every
        `heartbeat_seconds`) before it is taken for dead and reopened."""
        return self.heartbeat_seconds * 2 + 5

    def refused(self, response: httpx.Response) -> float:
        """The open was answered with an error: seconds before retrying, or raise it (a 401
        is retried with a fresh credential when one can be asked)."""
        if response.status_code == 401 and self.credentials.refreshable:
            self._fresh_credential = True
            return self.failed()
        if response.status_code in RETRYABLE_STATUSES:
            # Never sooner than the server asked (a stream cap, a rate limit, a 503).
            asked = retry_after_seconds(response)
            wait = self.failed()
            return wait if asked is None else max(wait, asked)
        self.status = Status.CLOSED
        raise error_for(response)

    def opened(self) -> None:
        """The stream answered 200."""
        self.status = Status.LIVE
        self.opened_from.append(self.last_event_id)

    def feed(self, line: str) -> Step | None:
        """One line of the stream; what the client must do about it, if anything."""
        frame = self._parser.feed(line)
        if self._parser.retry_ms is not None:
            self.retry_seconds = self._parser.retry_ms / 1000
        if frame is None:
            return None
        self.failures = 0  # a frame arrived: this connection works
        if frame.event == "sync.connected":
            body = decode(frame).get("data")
            if isinstance(body, dict):
                heartbeat = body.get("heartbeat_seconds")
                if isinstance(heartbeat, int | float) and heartbeat > 0:
                    self.heartbeat_seconds = float(heartbeat)
            if self.last_event_id is None:
                self._moved_to(frame.id)  # the snapshot's position: resume after it
            return None
        if frame.event in ("sync.timeout", "sync.unauthorized"):
            # No id on these: the resume point stays the last event received.
            self._fresh_credential = frame.event == "sync.unauthorized"
            return Reconnect()
        if frame.event == "sync.reset":
            # The resume point moves only once the workspace is read (`reset_to`): a failed
            # read reconnects from the old one and gets the reset again.
            reason = decode(frame).get("data")
            why = reason.get("reason") if isinstance(reason, dict) else None
            return Refetch(frame.id, str(why) if why is not None else None)
        seq = event_seq(frame.id)
        if seq is not None and self.last_seq is not None and seq <= self.last_seq:
            return None  # already delivered (a replay overlapping what was received)
        self._moved_to(frame.id)
        event = parse_event(frame)
        last = event.type == "workspace.deleted"
        if last:
            self.status = Status.CLOSED
        return Deliver(event, last)

    def reset_to(self, step: Refetch) -> None:
        """The reset's workspace was read: the order goes on from the reset's position
        (which may be below the old one: the server's log may have been restored)."""
        self.last_seq = None
        self._moved_to(step.id)

    def _moved_to(self, event_id: str | None) -> None:
        if event_id:
            self.last_event_id = event_id
            self.last_seq = event_seq(event_id)

    def failed(self) -> float:
        """A connection failed (refused, dropped, silent): seconds to wait before the next.

        Exponential from the server's `retry:` hint, capped, with jitter over the upper
        half (so clients dropped together do not return together).
        """
        self.failures += 1
        self.status = Status.RECONNECTING
        if self.max_attempts is not None and self.failures >= self.max_attempts:
            self.status = Status.CLOSED
            raise GaveUp(f"stream of {self.workspace_id} failed {self.failures} times")
        ceiling = min(MAX_BACKOFF_SECONDS, self.retry_seconds * 2 ** (self.failures - 1))
        return random.uniform(ceiling / 2, ceiling)

    def ended(self) -> float:
        """The server ended the stream on purpose or cleanly: seconds before reopening."""
        self.status = Status.RECONNECTING
        return 0.0


class StreamHandle:
    """What the sync and async stream objects share: their state and status reports."""

    def __init__(self, state: StreamState, on_status: Callable[[Status], None] | None) -> None:
        self.state = state
        self._on_status = on_status
        self._told: Status | None = None

    @property
    def last_event_id(self) -> str | None:
        """Where the next connection resumes."""
        return self.state.last_event_id

    @property
    def status(self) -> Status:
        """connecting, live, reconnecting or closed."""
        return self.state.status

    def _stopped(self) -> None:
        """The caller closed the stream."""
        self.state.status = Status.CLOSED
        self._tell()

    def _tell(self) -> None:
        if self._on_status is not None and self.state.status != self._told:
            self._told = self.state.status
            self._on_status(self.state.status)


@dataclass(frozen=True, slots=True)
class PresenceTiming:
    """When to re-announce presence: three times per TTL, so that one lost refresh (or a
    slow one) still lands inside it."""

    ttl_seconds: float

    @property
    def refresh_seconds(self) -> float:
        """Between successful joins."""
        return self.ttl_seconds / 3

    @property
    def retry_seconds(self) -> float:
        """After a failed join (still well inside the TTL)."""
        return self.ttl_seconds / 10
