"""Server-Sent Events parsing and the event types of a workspace stream.

A push parser (one line in, maybe one frame out) with no I/O, so the sync and async
streams feed it the lines they read and parse exactly the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from mechamental_client._core import Workspace


@dataclass(frozen=True, slots=True)
class Frame:
    """One SSE event as received."""

    event: str
    id: str | None
    data: str


class FrameParser:
    """Lines of an event stream in, frames out; remembers the server's `retry:` hint."""

    def __init__(self) -> None:
        self.retry_ms: int | None = None
        self._event = "message"
        self._id: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> Frame | None:
        """Take one line (without its line ending); the frame it completes, if any."""
        if line == "":
            frame = Frame(self._event, self._id, "\n".join(self._data)) if self._data else None
            self._event, self._id, self._data = "message", None, []
            return frame
        if line.startswith(":"):  # a comment: the server's heartbeat
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "data":
            self._data.append(value)
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None


@dataclass(frozen=True, slots=True)
class Event:
    """A workspace event (`type` such as `workspace.updated`, `presence.joined`)."""

    type: str
    id: str | None
    data: dict[str, Any] = field(default_factory=dict)
    actor_id: str | None = None
    occurred_at: str | None = None


@dataclass(frozen=True, slots=True)
class Reset:
    """The server could not resume exactly (`sync.reset`): start over from `workspace`."""

    workspace: Workspace
    id: str | None
    reason: str | None = None
    type: str = "sync.reset"


def decode(frame: Frame) -> dict[str, Any]:
    """A frame's JSON body (an object, whatever was sent)."""
    try:
        body = json.loads(frame.data) if frame.data else {}
    except ValueError:
        body = {"raw": frame.data}
    return body if isinstance(body, dict) else {"value": body}


def parse_event(frame: Frame) -> Event:
    """The typed event of a frame."""
    body = decode(frame)
    inner = body.get("data")
    return Event(
        type=str(body.get("type", frame.event)),
        id=frame.id,
        data=inner if isinstance(inner, dict) else body,
        actor_id=body.get("actor_id"),
        occurred_at=body.get("occurred_at"),
    )


def event_seq(event_id: str | None) -> int | None:
    """The position in the workspace's order named by an event id (`<seq>-<tag>`)."""
    if not event_id:
        return None
    seq, sep, _ = event_id.partition("-")
    return int(seq) if sep and seq.isdigit() else None
