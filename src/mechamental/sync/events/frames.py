"""Events and their Server-Sent Events encoding: each event is encoded once, then shared.

An event id is `<seq>-<tag>`: `seq` is the event's place in its workspace's total order and
`tag` a short fingerprint of the workspace, so an id from another workspace is recognised.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple

import orjson

_JSON = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


class EventType(StrEnum):
    """Every event type a stream can carry: the README's event table lists exactly these."""

    # Synthetic: written to one stream, never in the log.
    SYNC_CONNECTED = "sync.connected"
    SYNC_RESET = "sync.reset"
    SYNC_TIMEOUT = "sync.timeout"
    SYNC_UNAUTHORIZED = "sync.unauthorized"
    # Recorded in the log (outbox), in the workspace's order.
    WORKSPACE_CREATED = "workspace.created"
    WORKSPACE_UPDATED = "workspace.updated"
    WORKSPACE_DELETED = "workspace.deleted"
    WORKSPACE_BUCKET_STATUS_CHANGED = "workspace.bucket_status_changed"
    PRESENCE_JOINED = "presence.joined"
    PRESENCE_LEFT = "presence.left"
    PRESENCE_VIEWING = "presence.viewing"


@dataclass(slots=True)
class Event:
    """One event of a workspace's log (or a synthetic one such as `sync.connected`)."""

    org_id: str
    workspace_id: str
    seq: int
    type: str
    actor_id: str | None
    occurred_at: datetime | str
    data: dict[str, Any]


def workspace_tag(workspace_id: str) -> str:
    """The fingerprint that ties event ids to one workspace."""
    return hashlib.blake2b(workspace_id.encode(), digest_size=4).hexdigest()


def event_id(workspace_id: str, seq: int) -> str:
    """The public id of position `seq` in a workspace's order."""
    return f"{seq}-{workspace_tag(workspace_id)}"


def parse_event_id(workspace_id: str, value: str | None) -> int | None:
    """The position named by a Last-Event-ID, or None if it is not one of this workspace's."""
    if not value:
        return None
    seq, sep, tag = value.strip().partition("-")
    if not sep or not seq.isdigit() or len(seq) > 18 or tag != workspace_tag(workspace_id):
        return None
    return int(seq)


def event_body(event: Event) -> bytes:
    """The event as one line of JSON (orjson never writes a raw newline)."""
    return orjson.dumps(
        {
            "id": event_id(event.workspace_id, event.seq),
            "type": event.type,
            "org_id": event.org_id,
            "workspace_id": event.workspace_id,
            "actor_id": event.actor_id,
            "occurred_at": event.occurred_at,
            "data": event.data,
        },
        option=_JSON,
        default=str,
    )


def notice(
    org_id: str, workspace_id: str, type_: str, data: dict[str, Any], occurred_at: datetime
) -> bytes:
    """A frame with no `id:` line and `"id": null`: the client's Last-Event-ID stays the last
    event it received, whatever the stream was doing (live or still replaying)."""
    body = orjson.dumps(
        {
            "id": None,
            "type": type_,
            "org_id": org_id,
            "workspace_id": workspace_id,
            "actor_id": None,
            "occurred_at": occurred_at,
            "data": data,
        },
        option=_JSON,
    )
    return b"event: %s\ndata: %s\n\n" % (type_.encode(), body)


class Frame(NamedTuple):
    """An event encoded once as an SSE frame, with what fan-out needs to order it."""

    workspace_id: str
    seq: int
    type: str
    data: bytes
    # Wall-clock time of its commit, for the fan-out delay metric (0: unknown, e.g. replay).
    committed_at: float = 0.0


def encode(event: Event, committed_at: float = 0.0) -> Frame:
    """The event as a shareable SSE frame."""
    body = event_body(event)
    data = frame_from_body(event_id(event.workspace_id, event.seq), event.type, body)
    return Frame(event.workspace_id, event.seq, event.type, data, committed_at)


def frame_from_body(eid: str, type_: str, body: bytes) -> bytes:
    """An SSE frame from an already-encoded JSON body."""
    return b"id: %s\nevent: %s\ndata: %s\n\n" % (eid.encode(), type_.encode(), body)


def chunk(data: bytes) -> bytes:
    """`data` as one HTTP/1.1 chunk (the framing of a response without Content-Length)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def retry_hint(retry_ms: int) -> bytes:
    """The reconnection delay hint that opens every stream."""
    return b"retry: %d\n\n" % retry_ms


HEARTBEAT = b": keep-alive\n\n"
LAST_CHUNK = b"0\r\n\r\n"
