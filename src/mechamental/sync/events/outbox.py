"""Recording events: written in the same transaction as the change they describe.

The `events` table is both the outbox (rows with `published = false` are waiting to be
fanned out) and the per-workspace log that streams replay from. A change that rolls
back takes its event with it; a change that commits has its event, even if the process
dies before publishing: the publisher picks up unpublished rows when it next runs.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, update

from mechamental.db import Conn, Topic
from mechamental.sync.events.frames import Event
from mechamental.sync.events.models import events
from mechamental.types import utcnow
from mechamental.workspaces.models import workspaces

# Told of each recorded event once its transaction has committed (the publisher listens).
EVENT_RECORDED: Topic[Event] = Topic("event recorded")


# Built once: constructing a statement per call costs more than running it.
_NEXT_SEQ = (
    update(workspaces)
    .where(workspaces.c.workspace_id == bindparam("w"))
    .values(event_seq=workspaces.c.event_seq + 1)
    .returning(workspaces.c.event_seq)
)
_INSERT = insert(events)


async def next_seq(conn: Conn, *, workspace_id: str) -> int | None:
    """Take the workspace's next event number (locks its row); None if it is gone."""
    result = await conn.execute(_NEXT_SEQ, {"w": workspace_id})
    return result.scalar()


async def record_event(
    conn: Conn,
    *,
    org_id: str,
    workspace_id: str,
    seq: int,
    type: str,
    actor_id: str | None,
    data: dict[str, Any],
) -> None:
    """Write one event at position `seq` of its workspace, published after commit."""
    await record_events(conn, [Event(org_id, workspace_id, seq, type, actor_id, utcnow(), data)])


async def record_events(conn: Conn, batch: list[Event]) -> None:
    """Write events (their `seq`s already taken), in one statement; published after commit."""
    rows = [
        {
            "org_id": e.org_id,
            "workspace_id": e.workspace_id,
            "seq": e.seq,
            "type": e.type,
            "actor_id": e.actor_id,
            "occurred_at": e.occurred_at,
            "data": e.data,
            "published": False,
        }
        for e in batch
    ]
    await conn.execute(_INSERT, rows if len(rows) > 1 else rows[0])
    for event in batch:
        conn.notify(EVENT_RECORDED, event)
