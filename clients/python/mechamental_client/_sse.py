"""Server-Sent Events parsing and the event types of a workspace stream.

Kept apart from the transport so the sync (and later async) streams parse the same way.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mechamental_client._core import Workspace


@dataclass(frozen=True, slots=True)
class Frame:
    """One SSE event as received."""

    event: str
    id: str | None
    data: str
    retry: int | None = None


def frames(lines: Iterator[str]) -> Iterator[Frame]:
    """SSE frames from text lines (comments and heartbeats skipped)."""
    event: str = "message"
    ident: str | None = None
    data: list[str] = []
    retry: int | None = None
    for line in lines:
        if line == "":
            if data:
                yield Frame(event, ident, "\n".join(data), retry)
            event, ident, data, retry = "message", None, [], None
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "id":
            ident = value
        elif name == "data":
            data.append(value)
        elif name == "retry" and value.isdigit():
            retry = int(value)


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
    type: str = "sync.reset"


def parse_event(frame: Frame) -> Event:
    """The typed event of a frame."""
    try:
        body = json.loads(frame.data) if frame.data else {}
    except ValueError:
        body = {"raw": frame.data}
    if not isinstance(body, dict):
        body = {"value": body}
    inner = body.get("data")
    return Event(
        type=str(body.get("type", frame.event)),
        id=frame.id,
        data=inner if isinstance(inner, dict) else body,
        actor_id=body.get("actor_id"),
        occurred_at=body.get("occurred_at"),
    )


def backoff(attempt: int, *, base: float = 0.25, cap: float = 10.0) -> float:
    """Full-jitter exponential backoff before reconnection `attempt` (0-based)."""
    return random.uniform(0, min(cap, base * (2**attempt)))
