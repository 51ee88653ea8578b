"""Recording events: written in the same transaction as the change they describe.

The `events` table is both the outbox (rows with `published = false` are waiting to be
fanned out) and the per-workspace log that streams replay from. A change that rolls
back takes its event with it; a change that commits has its event, even if the process
dies before publishing: the publisher picks up unpublished rows when it next runs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from mechamental.db import Conn, Topic
from mechamental.sync.events.frames import Event, EventType
from mechamental.sync.events.models import events
from mechamental.types import utcnow

# Told of each recorded event once its transaction has committed (the publisher listens).
EVENT_RECORDED: Topic[Event] = Topic("event recorded")


_INSERT = insert(events)  # built once, at import (AGENTS.md)


async def record_event(
    conn: Conn,
    *,
    org_id: str,
    workspace_id: str,
    seq: int,
    type: EventType,
    actor_id: str | None,
    data: dict[str, Any],
) -> None:
    """Write one event at position `seq` (from `seq.take_seqs`) of its workspace."""
    await record_events(conn, [Event(org_id, workspace_id, seq, type, actor_id, utcnow(), data)])


async def record_events(conn: Conn, batch: list[Event]) -> None:
    """Write events (their `seq`s already taken), in one statement; told after commit."""
    rows = [
        {
            "org_id": event.org_id,
            "workspace_id": event.workspace_id,
            "seq": event.seq,
            "type": event.type,
            "actor_id": event.actor_id,
            "occurred_at": event.occurred_at,
            "data": event.data,
            "published": False,
            "webhook_pending": True,
        }
        for event in batch
    ]
    await conn.execute(_INSERT, rows if len(rows) > 1 else rows[0])
    for event in batch:
        conn.notify(EVENT_RECORDED, event)
