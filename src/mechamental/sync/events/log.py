"""Reading the per-workspace event log: replay, retention, the outbox's unpublished rows.

Reads for a request (`position`, `read_events`, `oldest_retained`) filter by the org in
the path, like every workspace query (AGENTS.md, tenancy). The sweeps below them
(`heads` for the bus's resync, `unpublished`, `mark_*`, `prune`) serve the whole
process and span every org by design.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update

from mechamental.db import Conn
from mechamental.fastquery import FastQuery
from mechamental.sync.events.frames import Event, EventType
from mechamental.sync.events.models import events
from mechamental.tables import workspaces

_EVENT_COLUMNS = (
    events.c.org_id,
    events.c.workspace_id,
    events.c.seq,
    events.c.type,
    events.c.actor_id,
    events.c.occurred_at,
    events.c.data,
)


def _event(row: Any) -> Event:
    return Event(
        org_id=row.org_id,
        workspace_id=row.workspace_id,
        seq=row.seq,
        type=row.type,
        actor_id=row.actor_id,
        occurred_at=row.occurred_at,
        data=row.data,
    )


_POSITION = FastQuery(
    select(workspaces.c.event_seq).where(
        workspaces.c.workspace_id == bindparam("workspace_id"),
        workspaces.c.org_id == bindparam("org_id"),
    )
)
# The same row, held against writers until the transaction ends: every event (workspace
# change, bucket status, presence) bumps `event_seq` under this row's lock.
_HOLD_POSITION = (
    select(workspaces.c.event_seq)
    .where(
        workspaces.c.workspace_id == bindparam("workspace_id"),
        workspaces.c.org_id == bindparam("org_id"),
    )
    .with_for_update(read=True)
)
_IN_WORKSPACE = (events.c.workspace_id == bindparam("workspace_id")) & (
    events.c.org_id == bindparam("org_id")
)
_AFTER = _IN_WORKSPACE & (events.c.seq > bindparam("after"))
_READ = select(*_EVENT_COLUMNS).order_by(events.c.seq).limit(bindparam("limit"))
_READ_ALL = _READ.where(_AFTER)
_READ_UPTO = _READ.where(_AFTER, events.c.seq <= bindparam("upto"))
_OLDEST = FastQuery(select(func.min(events.c.seq).label("oldest")).where(_IN_WORKSPACE))
_DELETED_AT = select(events.c.seq).where(
    _IN_WORKSPACE, events.c.type == EventType.WORKSPACE_DELETED.value
)


async def position(conn: Conn, *, org_id: str, workspace_id: str) -> int | None:
    """The workspace's last event number, or None if it is not in `org_id` (a hot path)."""
    rows = await conn.fetch(_POSITION, {"workspace_id": workspace_id, "org_id": org_id})
    return int(rows[0]["event_seq"]) if rows else None


async def hold_position(conn: Conn, *, org_id: str, workspace_id: str) -> int | None:
    """Like `position`, and no event of the workspace commits until `conn`'s transaction ends."""
    row = (
        await conn.execute(_HOLD_POSITION, {"workspace_id": workspace_id, "org_id": org_id})
    ).first()
    return int(row.event_seq) if row is not None else None


async def heads(conn: Conn, *, workspace_ids: list[str]) -> dict[str, int]:
    """The last event number of each existing workspace among `workspace_ids` (any org)."""
    rows = await conn.execute(
        select(workspaces.c.workspace_id, workspaces.c.event_seq).where(
            workspaces.c.workspace_id.in_(workspace_ids)
        )
    )
    return {row.workspace_id: int(row.event_seq) for row in rows.all()}


async def read_events(
    conn: Conn,
    *,
    org_id: str,
    workspace_id: str,
    after: int,
    upto: int | None = None,
    limit: int = 500,
) -> list[Event]:
    """The workspace's events with `after < seq <= upto`, in order, at most `limit`."""
    params = {"org_id": org_id, "workspace_id": workspace_id, "after": after, "limit": limit}
    if upto is None:
        result = await conn.execute(_READ_ALL, params)
    else:
        result = await conn.execute(_READ_UPTO, {**params, "upto": upto})
    return [_event(row) for row in result.all()]


async def deleted_at(conn: Conn, *, org_id: str, workspace_id: str) -> int | None:
    """The number of the workspace's `workspace.deleted` event, while the log retains it."""
    result = await conn.execute(_DELETED_AT, {"org_id": org_id, "workspace_id": workspace_id})
    value = result.scalar()
    return None if value is None else int(value)


async def oldest_retained(conn: Conn, *, org_id: str, workspace_id: str) -> int | None:
    """The lowest event number still kept for the workspace."""
    rows = await conn.fetch(_OLDEST, {"org_id": org_id, "workspace_id": workspace_id})
    value = rows[0]["oldest"] if rows else None
    return None if value is None else int(value)


async def unpublished(
    conn: Conn, *, committed_before: datetime | None, limit: int = 500
) -> list[tuple[int, Event]]:
    """Outbox rows not yet published, oldest first (optionally only those older than a time)."""
    query = select(events.c.id, *_EVENT_COLUMNS).where(events.c.published.is_(False))
    if committed_before is not None:
        query = query.where(events.c.occurred_at < committed_before)
    rows = (await conn.execute(query.order_by(events.c.id).limit(limit))).all()
    return [(int(row.id), _event(row)) for row in rows]


# Built once, as every hot statement (AGENTS.md): one built per workspace per batch left
# ~500 expression objects/s in reference cycles under the mixed-load bench.
_MARK_PUBLISHED = (
    update(events)
    .where(
        events.c.workspace_id == bindparam("marked_workspace"),
        events.c.seq.in_(bindparam("seqs", expanding=True)),
        events.c.published.is_(False),
    )
    .values(published=True)
)


async def mark_published(conn: Conn, *, keys: list[tuple[str, int]]) -> None:
    """Flag the events `(workspace_id, seq)` as published."""
    by_workspace: dict[str, list[int]] = {}
    for workspace_id, seq in keys:
        by_workspace.setdefault(workspace_id, []).append(seq)
    # Rows are locked workspace by workspace in one order in every process: two publishers
    # flagging overlapping batches (orphans after a crash) wait for each other, never deadlock.
    for workspace_id, seqs in sorted(by_workspace.items()):
        await conn.execute(_MARK_PUBLISHED, {"marked_workspace": workspace_id, "seqs": seqs})


async def mark_all_published(conn: Conn) -> int:
    """Flag every pending row as published (embedded start: nobody is listening yet)."""
    result = await conn.execute(
        update(events).where(events.c.published.is_(False)).values(published=True)
    )
    return _rowcount(result)


async def prune(
    conn: Conn, *, now: datetime, keep_count: int, keep_seconds: float, batch: int
) -> int:
    """Delete up to `batch` published events that are both older than the age and beyond
    the count kept (or whose workspace is gone); how many."""
    newest = (
        select(workspaces.c.event_seq)
        .where(workspaces.c.workspace_id == events.c.workspace_id)
        .scalar_subquery()
    )
    gone = (
        ~select(workspaces.c.workspace_id)
        .where(workspaces.c.workspace_id == events.c.workspace_id)
        .exists()
    )
    doomed = (
        select(events.c.id)
        .where(
            events.c.published.is_(True),
            events.c.webhook_pending.is_(False),
            events.c.occurred_at < now - timedelta(seconds=keep_seconds),
            or_(gone, and_(events.c.seq <= newest - keep_count)),
        )
        .limit(batch)
    )
    result = await conn.execute(delete(events).where(events.c.id.in_(doomed)))
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
