"""The presence ledger: the member state the event log has told streams about.

`announce` compares a member's desired state with the announced one and, under the
workspace's row lock, records the presence events that turn one into the other (each with
the workspace's next sequence number) and the new state, in the caller's transaction.
A desired state older than the announced one (a lower version) is ignored.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, tuple_, update

from mechamental.db import Conn
from mechamental.fastquery import FastQuery
from mechamental.sync.events.frames import Event, EventType
from mechamental.sync.events.outbox import record_events
from mechamental.sync.events.seq import take_seqs
from mechamental.sync.presence.models import presence_members
from mechamental.sync.presence.store import Desired, Viewing
from mechamental.tables import workspaces
from mechamental.types import UTCDateTime

JOINED, LEFT, VIEWING = (
    EventType.PRESENCE_JOINED,
    EventType.PRESENCE_LEFT,
    EventType.PRESENCE_VIEWING,
)


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


# Statements are built once; constructing them per call cost more than running them.
_LOCK = (
    select(workspaces.c.org_id)
    .where(workspaces.c.workspace_id == bindparam("member_workspace_id"))
    .with_for_update()
)
_KEY = (presence_members.c.workspace_id == bindparam("member_workspace_id")) & (
    presence_members.c.user_id == bindparam("member_user_id")
)
_MEMBER = select(
    presence_members.c.present,
    presence_members.c.viewing_type,
    presence_members.c.viewing_id,
    presence_members.c.since,
    presence_members.c.version,
    presence_members.c.seq,
).where(_KEY)
_STATE = {
    "present": bindparam("present"),
    "viewing_type": bindparam("viewing_type"),
    "viewing_id": bindparam("viewing_id"),
    "since": bindparam("since", type_=UTCDateTime()),
    "version": bindparam("version"),
    "seq": bindparam("seq"),
    "updated_at": bindparam("updated_at", type_=UTCDateTime()),
}
_UPDATE_MEMBER = update(presence_members).where(_KEY).values(**_STATE)
_INSERT_MEMBER = insert(presence_members).values(
    workspace_id=bindparam("member_workspace_id"),
    user_id=bindparam("member_user_id"),
    org_id=bindparam("org_id"),
    **_STATE,
)


async def announce(
    conn: Conn, *, workspace_id: str, user_id: str, desired: Desired, now: datetime
) -> int:
    """Record what changed since the last announcement; the number of events written."""
    key = {"member_workspace_id": workspace_id, "member_user_id": user_id}
    # The workspace row lock orders this with every other event of the workspace.
    locked = (await conn.execute(_LOCK, key)).first()
    if locked is None:
        return 0
    org_id = locked.org_id
    row = (await conn.execute(_MEMBER, key)).first()
    if row is not None and row.version >= desired.version:
        return 0
    since = row.since if row is not None and row.present and row.since else now
    seq = row.seq if row is not None else 0
    changes = transitions(row, desired, user_id, since)
    if changes:
        seqs = await take_seqs(conn, workspace_id=workspace_id, count=len(changes))
        batch = [
            Event(org_id, workspace_id, taken, type_, user_id, now, data)
            for taken, (type_, data) in zip(seqs, changes, strict=True)
        ]
        await record_events(conn, batch)
        seq = seqs[-1]
    viewing_type, viewing_id = desired.viewing if desired.viewing else (None, None)
    state = {
        **key,
        "present": desired.present,
        "viewing_type": viewing_type,
        "viewing_id": viewing_id,
        "since": since if desired.present else None,
        "version": desired.version,
        "seq": seq,
        "updated_at": now,
    }
    if row is None:
        await conn.execute(_INSERT_MEMBER, {**state, "org_id": org_id})
    else:
        await conn.execute(_UPDATE_MEMBER, state)
    return len(changes)


# A stream open reads this; on the driver it skips SQLAlchemy's per-call work and the engine
# pool's checkout with its pre-ping (see `fastquery`).
_PRESENT_MEMBERS = FastQuery(
    select(
        presence_members.c.user_id,
        presence_members.c.viewing_type,
        presence_members.c.viewing_id,
        presence_members.c.since,
    )
    .where(
        presence_members.c.org_id == bindparam("org_id"),
        presence_members.c.workspace_id == bindparam("workspace_id"),
        presence_members.c.present.is_(True),
    )
    .order_by(presence_members.c.since, presence_members.c.user_id)
)


async def present_members(conn: Conn, *, org_id: str, workspace_id: str) -> list[dict[str, Any]]:
    """The announced members of a workspace of `org_id`, earliest first."""
    return await conn.fetch(_PRESENT_MEMBERS, {"org_id": org_id, "workspace_id": workspace_id})


async def every_present(conn: Conn, *, limit: int = 100_000) -> list[Any]:
    """Every announced member of every workspace (recovery after a restart)."""
    query = select(presence_members).where(presence_members.c.present.is_(True)).limit(limit)
    return list((await conn.execute(query)).all())


ABSENT_KEPT = timedelta(days=1)  # absent members' rows are kept this long


async def forget_absent(conn: Conn, *, now: datetime, batch: int) -> int:
    """Drop up to `batch` rows of members absent for `ABSENT_KEPT` or of deleted workspaces
    (kept a while so stale updates stay recognisable); how many."""
    gone = (
        ~select(workspaces.c.workspace_id)
        .where(workspaces.c.workspace_id == presence_members.c.workspace_id)
        .exists()
    )
    doomed = (
        select(presence_members.c.workspace_id, presence_members.c.user_id)
        .where(
            or_(gone, presence_members.c.present.is_(False)),
            presence_members.c.updated_at < now - ABSENT_KEPT,
        )
        .limit(batch)
    )
    key = tuple_(presence_members.c.workspace_id, presence_members.c.user_id)
    result = await conn.execute(delete(presence_members).where(key.in_(doomed)))
    return _rowcount(result)


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
