"""Announced presence: the member state the event log has told streams about.

`announce` compares a member's desired state with the announced one and, in one
transaction under the workspace's row lock, records the presence events that turn one
into the other (each with the workspace's next sequence number) and the new state.
A desired state older than the announced one (a lower version) is ignored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update

from mechamental.db import Conn, Database
from mechamental.sync.models import presence_members as pm
from mechamental.sync.outbox import next_seq, record_event
from mechamental.sync.presence_store import Desired, Viewing
from mechamental.workspaces.models import workspaces

JOINED, LEFT, VIEWING = "presence.joined", "presence.left", "presence.viewing"


def viewing_json(viewing: Viewing | None) -> dict[str, str] | None:
    """A viewed resource as the API shows it."""
    if viewing is None:
        return None
    return {"resource_type": viewing[0], "resource_id": viewing[1]}


def _row_viewing(row: Any) -> Viewing | None:
    if row is None or not row.present or row.viewing_type is None:
        return None
    return (row.viewing_type, row.viewing_id)


def transitions(
    row: Any, desired: Desired, user_id: str, since: datetime
) -> list[tuple[str, dict[str, Any]]]:
    """The events that move the announced state `row` to `desired`."""
    was = bool(row is not None and row.present)
    before = _row_viewing(row)
    out: list[tuple[str, dict[str, Any]]] = []
    if not desired.present:
        if was:
            out.append((LEFT, {"user_id": user_id, "reason": desired.reason}))
        return out
    if not was:
        out.append((JOINED, {"user_id": user_id, "viewing": None, "since": since}))
        before = None
    if desired.viewing != before:
        out.append(
            (
                VIEWING,
                {
                    "user_id": user_id,
                    "viewing": viewing_json(desired.viewing),
                    "previous": viewing_json(before),
                },
            )
        )
    return out


async def announce(
    db: Database, *, workspace_id: str, user_id: str, desired: Desired, now: datetime
) -> int:
    """Record what changed since the last announcement; the number of events written."""
    async with db.transaction() as conn:
        # The workspace row lock orders this with every other event of the workspace.
        org_id = (
            await conn.execute(
                select(workspaces.c.org_id)
                .where(workspaces.c.workspace_id == workspace_id)
                .with_for_update()
            )
        ).scalar()
        if org_id is None:
            return 0
        key = (pm.c.workspace_id == workspace_id) & (pm.c.user_id == user_id)
        row = (await conn.execute(select(pm).where(key))).first()
        if row is not None and row.version >= desired.version:
            return 0
        since = row.since if row is not None and row.present and row.since else now
        seq = row.seq if row is not None else 0
        changes = transitions(row, desired, user_id, since)
        for type_, data in changes:
            taken = await next_seq(conn, workspace_id=workspace_id)
            assert taken is not None  # the row is locked above
            seq = taken
            await record_event(
                conn,
                org_id=org_id,
                workspace_id=workspace_id,
                seq=seq,
                type=type_,
                actor_id=user_id,
                data=data,
            )
        vt, vi = desired.viewing if desired.viewing else (None, None)
        values = {
            "present": desired.present,
            "viewing_type": vt,
            "viewing_id": vi,
            "since": since if desired.present else None,
            "version": desired.version,
            "seq": seq,
            "updated_at": now,
        }
        if row is None:
            values.update(workspace_id=workspace_id, user_id=user_id, org_id=org_id)
            await conn.execute(insert(pm).values(**values))
        else:
            await conn.execute(update(pm).where(key).values(**values))
        return len(changes)


async def present_members(conn: Conn, *, workspace_id: str) -> list[Any]:
    """The announced members of a workspace, earliest first."""
    query = (
        select(pm.c.user_id, pm.c.viewing_type, pm.c.viewing_id, pm.c.since)
        .where(pm.c.workspace_id == workspace_id, pm.c.present.is_(True))
        .order_by(pm.c.since, pm.c.user_id)
    )
    return list((await conn.execute(query)).all())


async def every_present(conn: Conn, *, limit: int = 100_000) -> list[Any]:
    """Every announced member of every workspace (restart recovery)."""
    query = select(pm).where(pm.c.present.is_(True)).limit(limit)
    return list((await conn.execute(query)).all())


async def forget_absent(conn: Conn, *, now: datetime, older_than: timedelta) -> int:
    """Drop long-absent members' rows (kept a while so stale updates stay recognisable)."""
    gone = (
        ~select(workspaces.c.workspace_id)
        .where(workspaces.c.workspace_id == pm.c.workspace_id)
        .exists()
    )
    result = await conn.execute(
        delete(pm).where(or_(gone, pm.c.present.is_(False)), pm.c.updated_at < now - older_than)
    )
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
