"""Workspace operations. Callers own the transaction; these functions never commit."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, literal, select, tuple_, update
from sqlalchemy.sql import Select, Update

from mechamental.auth.models import organizations
from mechamental.buckets import jobs
from mechamental.buckets.models import BucketStatus
from mechamental.db import Conn, insert_if_absent
from mechamental.errors import (
    PreconditionFailed,
    QuotaExceeded,
    ResourceNotFound,
    validation_error,
)
from mechamental.fastquery import FastQuery
from mechamental.ids import new_id
from mechamental.sync.events.frames import EventType
from mechamental.sync.events.outbox import record_event
from mechamental.sync.events.seq import BUMP_SEQ, FIRST_SEQ, TAKEN_SEQ, take_seqs
from mechamental.tables import workspaces
from mechamental.types import api_timestamp, parse_api_timestamp, utcnow
from mechamental.workspaces.cursor import Position
from mechamental.workspaces.models import workspace_tags

UPDATABLE = ("name", "description", "tags", "is_active", "subscription_plan_id")

# Plain str keys: orjson refuses SQLAlchemy's `quoted_name` as a dict key.
_API_FIELDS = (
    "workspace_id",
    "name",
    "description",
    "owner_id",
    "subscription_plan_id",
    "is_active",
    "tags",
    "region",
    "s3_bucket",
    "bucket_status",
    "bucket_error",
    "created_at",
    "updated_at",
)
API_COLUMNS = (*(workspaces.c[name] for name in _API_FIELDS), workspaces.c.version)


Row = Mapping[Any, Any]  # a SQLAlchemy RowMapping or a plain dict


def to_api(row: Row) -> dict[str, Any]:
    """A workspace row as the API shows it."""
    return {name: row[name] for name in _API_FIELDS}


def etag(row: Row) -> str:
    """The strong ETag of a workspace's current representation."""
    return f'"{row["workspace_id"]}.{row["version"]}"'


def check_if_match(if_match: str | None, row: Row) -> None:
    """Raise 412 unless `If-Match` (if sent) names the current ETag or `*`."""
    if if_match is None:
        return
    tags = {t.strip().removeprefix("W/") for t in if_match.split(",")}
    if "*" not in tags and etag(row) not in tags:
        raise PreconditionFailed()


@dataclass(frozen=True, slots=True)
class ListFilters:
    """Optional filters of the list endpoint (beyond the reference)."""

    is_active: bool | None = None
    tag: str | None = None
    region: str | None = None
    q: str | None = None

    @property
    def any(self) -> bool:
        """Whether any filter is set."""
        return any(v is not None for v in (self.is_active, self.tag, self.region, self.q))

    @property
    def unmatchable(self) -> bool:
        """Whether a filter holds NUL, which no stored value contains (and PostgreSQL refuses)."""
        return any(v is not None and "\x00" in v for v in (self.tag, self.region, self.q))


@dataclass(frozen=True, slots=True)
class Page:
    """One page of workspaces (timestamps as `types.api_timestamp` text, as the fast reads give)."""

    total: int
    items: Sequence[Row]
    has_more: bool

    @property
    def last_position(self) -> Position | None:
        """Where the next page starts, if there is one."""
        if not self.has_more:
            return None
        last = self.items[-1]
        return Position(parse_api_timestamp(last["created_at"]), last["workspace_id"])


_COUNT_BY = (
    update(organizations)
    .where(organizations.c.id == bindparam("org_id"))
    .values(workspace_count=organizations.c.workspace_count + bindparam("delta"))
)


# The quota check and the count in one statement: under the row lock the UPDATE takes,
# concurrent creates in one org pass one at a time, so exactly `limit` of them succeed.
_COUNT_UP_WITHIN = (
    update(organizations)
    .where(
        (organizations.c.id == bindparam("org_id"))
        & (organizations.c.workspace_count < bindparam("limit"))
    )
    .values(workspace_count=organizations.c.workspace_count + 1)
)
_COUNT_OF = select(organizations.c.workspace_count).where(organizations.c.id == bindparam("org_id"))


async def _count_up_within(conn: Conn, org_id: str, limit: int | None) -> None:
    """Count one more workspace, or raise `QuotaExceeded` (403) at `MAX_WORKSPACES_PER_ORG`."""
    if limit is None:
        await _adjust_count(conn, org_id, +1)
        return
    params = {"org_id": org_id, "limit": limit}
    if (await conn.execute(_COUNT_UP_WITHIN, params)).rowcount:
        return
    current = (await conn.execute(_COUNT_OF, {"org_id": org_id})).scalar()
    if current is None:  # an org first named by a JWT: its first workspace
        await _ensure_org(conn, org_id)
        if (await conn.execute(_COUNT_UP_WITHIN, params)).rowcount:
            return
        current = (await conn.execute(_COUNT_OF, {"org_id": org_id})).scalar()
    raise QuotaExceeded("workspaces", limit=limit, current=int(current or 0))


async def _adjust_count(conn: Conn, org_id: str, delta: int) -> None:
    result = await conn.execute(_COUNT_BY, {"org_id": org_id, "delta": delta})
    if not result.rowcount:
        await _ensure_org(conn, org_id)
        if delta > 0:
            await conn.execute(_COUNT_BY, {"org_id": org_id, "delta": delta})


async def _ensure_org(conn: Conn, org_id: str) -> None:
    """Orgs named by JWTs from an external issuer appear on their first workspace. The
    first creates of a new org may run at once: the insert waits for a racing one and then
    does nothing (a plain INSERT answered the loser with a unique violation, a 500)."""
    await conn.execute(
        insert_if_absent(conn, organizations).values(
            id=org_id, name=org_id, created_at=utcnow(), workspace_count=0
        )
    )


async def _replace_tags(conn: Conn, *, org_id: str, workspace_id: str, tags: list[str]) -> None:
    await conn.execute(delete(workspace_tags).where(workspace_tags.c.workspace_id == workspace_id))
    if tags:
        await conn.execute(
            insert(workspace_tags),
            [{"workspace_id": workspace_id, "org_id": org_id, "tag": t} for t in tags],
        )


# Statements are built once, at import (AGENTS.md).
_INSERT = insert(workspaces).returning(*API_COLUMNS)


async def create_workspace(
    conn: Conn,
    *,
    org_id: str,
    owner_id: str,
    values: dict[str, Any],
    region: str,
    bucket_prefix: str,
    max_workspaces: int | None = None,
) -> Row:
    """Insert a workspace, its tags, its event and its bucket job; return the new row.

    The org's count goes up first, within `max_workspaces` (403 `QUOTA_EXCEEDED` beyond).
    """
    await _count_up_within(conn, org_id, max_workspaces)
    workspace_id = new_id()
    now = utcnow()
    bucket = jobs.bucket_name(bucket_prefix, workspace_id)
    params = {
        "workspace_id": workspace_id,
        "org_id": org_id,
        "name": values["name"],
        "description": values.get("description"),
        "owner_id": owner_id,
        "subscription_plan_id": values.get("subscription_plan_id"),
        "is_active": values.get("is_active", True),
        "tags": values.get("tags", []),
        "region": region,
        "s3_bucket": bucket,
        "bucket_status": BucketStatus.PENDING.value,
        "version": 1,
        "event_seq": FIRST_SEQ,
        "created_at": now,
        "updated_at": now,
    }
    row = (await conn.execute(_INSERT, params)).mappings().one()
    if row["tags"]:
        await _replace_tags(conn, org_id=org_id, workspace_id=workspace_id, tags=row["tags"])
    await record_event(
        conn,
        org_id=org_id,
        workspace_id=workspace_id,
        seq=FIRST_SEQ,
        type=EventType.WORKSPACE_CREATED,
        actor_id=owner_id,
        data={"workspace": to_api(row)},
    )
    await jobs.enqueue(
        conn,
        action="provision",
        org_id=org_id,
        workspace_id=workspace_id,
        bucket=bucket,
        region=region,
    )
    return row


_GET = select(*API_COLUMNS)
_BY_ID = (workspaces.c.workspace_id == bindparam("workspace_id")) & (
    workspaces.c.org_id == bindparam("org_id")
)
_GET_FAST = FastQuery(_GET.where(_BY_ID), api_text=True)
_NEWEST_FIRST = (workspaces.c.created_at.desc(), workspaces.c.workspace_id.desc())
_ORG = workspaces.c.org_id == bindparam("org_id")
# List rows carry exactly the API fields, so they are encoded without another copy.
_LIST = select(*API_COLUMNS[:-1])
_FIRST_PAGE = FastQuery(
    _LIST.where(_ORG).order_by(*_NEWEST_FIRST).limit(bindparam("limit")), api_text=True
)
_NEXT_PAGE = FastQuery(
    _LIST.where(
        _ORG,
        tuple_(workspaces.c.created_at, workspaces.c.workspace_id)
        < tuple_(
            bindparam("after_created_at", type_=workspaces.c.created_at.type),
            bindparam("after_id", type_=workspaces.c.workspace_id.type),
        ),
    )
    .order_by(*_NEWEST_FIRST)
    .limit(bindparam("limit")),
    api_text=True,
)
_ORG_COUNT = FastQuery(
    select(organizations.c.workspace_count).where(organizations.c.id == bindparam("org_id"))
)


async def get_workspace(conn: Conn, *, org_id: str, workspace_id: str) -> Row:
    """The workspace `workspace_id` of `org_id`, or 404 (the id is a `params.WorkspaceId`)."""
    rows = await conn.fetch(_GET_FAST, {"workspace_id": workspace_id, "org_id": org_id})
    if not rows:
        raise ResourceNotFound("workspace", workspace_id)
    return rows[0]


async def read_api_workspace(conn: Conn, *, org_id: str, workspace_id: str) -> dict[str, Any]:
    """The workspace as the API shows it, or 404 (the sync stream's snapshot reads it)."""
    return to_api(await get_workspace(conn, org_id=org_id, workspace_id=workspace_id))


def _filtered(query: Select[Any], org_id: str, filters: ListFilters) -> Select[Any]:
    query = query.where(workspaces.c.org_id == org_id)
    if filters.is_active is not None:
        query = query.where(workspaces.c.is_active == filters.is_active)
    if filters.region is not None:
        query = query.where(workspaces.c.region == filters.region)
    if filters.q:
        query = query.where(
            func.lower(workspaces.c.name).contains(filters.q.lower(), autoescape=True)
        )
    if filters.tag is not None:
        query = query.where(
            select(workspace_tags.c.workspace_id)
            .where(
                workspace_tags.c.workspace_id == workspaces.c.workspace_id,
                workspace_tags.c.tag == filters.tag,
            )
            .exists()
        )
    return query


async def list_workspaces(
    conn: Conn, *, org_id: str, limit: int, after: Position | None, filters: ListFilters
) -> Page:
    """A page of the org's workspaces, newest first, strictly after `after`."""
    if filters.unmatchable:
        return Page(total=0, items=[], has_more=False)
    if not filters.any:
        return await _unfiltered_page(conn, org_id=org_id, limit=limit, after=after)
    query = _filtered(select(*API_COLUMNS), org_id, filters)
    if after is not None:
        query = query.where(
            tuple_(workspaces.c.created_at, workspaces.c.workspace_id)
            < tuple_(
                # Typed binds: SQLite compares the stored text, so the cursor's time must be
                # written in the column's own storage format.
                literal(after.created_at, workspaces.c.created_at.type),
                literal(after.workspace_id, workspaces.c.workspace_id.type),
            )
        )
    query = query.order_by(*_NEWEST_FIRST)
    rows = [
        to_api(row)
        | {
            "created_at": api_timestamp(row["created_at"]),
            "updated_at": api_timestamp(row["updated_at"]),
        }
        for row in (await conn.execute(query.limit(limit + 1))).mappings()
    ]
    count_query = _filtered(select(func.count()).select_from(workspaces), org_id, filters)
    total = (await conn.execute(count_query)).scalar_one()
    return Page(total=total, items=rows[:limit], has_more=len(rows) > limit)


async def _unfiltered_page(conn: Conn, *, org_id: str, limit: int, after: Position | None) -> Page:
    params: dict[str, Any] = {"org_id": org_id, "limit": limit + 1}
    if after is None:
        rows: list[Row] = list(await conn.fetch(_FIRST_PAGE, params))
    else:
        params.update(after_created_at=after.created_at, after_id=after.workspace_id)
        rows = list(await conn.fetch(_NEXT_PAGE, params))
    counted = await conn.fetch(_ORG_COUNT, {"org_id": org_id})
    total = counted[0]["workspace_count"] if counted else 0
    return Page(total=total, items=rows[:limit], has_more=len(rows) > limit)


_LOCK = _GET.where(_BY_ID).with_for_update()


async def _lock_current(conn: Conn, *, org_id: str, workspace_id: str, if_match: str | None) -> Row:
    """The workspace row, locked for this transaction; 404 if absent, 412 if If-Match fails."""
    params = {"workspace_id": workspace_id, "org_id": org_id}
    current = (await conn.execute(_LOCK, params)).mappings().first()
    if current is None:
        raise ResourceNotFound("workspace", workspace_id)
    check_if_match(if_match, current)
    return current


@functools.cache
def _update_of(columns: tuple[str, ...]) -> Update:
    """The UPDATE of these columns (sorted), built once: one built per call left its
    expression objects in reference cycles, ~3,000 objects/s of garbage in the mixed-load
    bench, whose collections stalled every stream for 50-190 ms (AGENTS.md)."""
    c = workspaces.c
    values: dict[str, Any] = {
        name: bindparam(f"new_{name}", type_=c[name].type) for name in columns
    }
    return (
        update(workspaces)
        # Not "workspace_id": an UPDATE reserves its columns' names for the SET clause.
        .where(c.workspace_id == bindparam("target"))
        .values(
            **values,
            updated_at=bindparam("new_updated_at", type_=c.updated_at.type),
            version=c.version + 1,
            **BUMP_SEQ,
        )
        .returning(*API_COLUMNS, TAKEN_SEQ)
    )


async def update_workspace(
    conn: Conn,
    *,
    org_id: str,
    workspace_id: str,
    actor_id: str,
    changes: dict[str, Any],
    if_match: str | None,
) -> Row:
    """Apply the fields in `changes` that differ; an update that changes nothing is a no-op."""
    current = await _lock_current(conn, org_id=org_id, workspace_id=workspace_id, if_match=if_match)
    if "region" in changes and changes["region"] != current["region"]:
        raise validation_error(
            ["body", "region"],
            "region cannot be changed once the workspace exists",
            changes["region"],
            "region_immutable",
        )
    changed = {k: v for k, v in changes.items() if k in UPDATABLE and current[k] != v}
    if not changed:
        return current
    params = {f"new_{k}": v for k, v in changed.items()}
    params.update(target=workspace_id, new_updated_at=utcnow())
    row = (await conn.execute(_update_of(tuple(sorted(changed))), params)).mappings().one()
    if "tags" in changed:
        await _replace_tags(conn, org_id=org_id, workspace_id=workspace_id, tags=changed["tags"])
    await record_event(
        conn,
        org_id=org_id,
        workspace_id=workspace_id,
        seq=row[TAKEN_SEQ],
        type=EventType.WORKSPACE_UPDATED,
        actor_id=actor_id,
        data={"changes": {k: row[k] for k in changed}, "workspace": to_api(row)},
    )
    return row


async def delete_workspace(
    conn: Conn, *, org_id: str, workspace_id: str, actor_id: str, if_match: str | None
) -> None:
    """Delete a workspace, announce it, and queue its bucket's removal."""
    current = await _lock_current(conn, org_id=org_id, workspace_id=workspace_id, if_match=if_match)
    (taken,) = await take_seqs(conn, workspace_id=workspace_id)  # the row is locked: it exists
    await conn.execute(delete(workspaces).where(workspaces.c.workspace_id == workspace_id))
    await _adjust_count(conn, org_id, -1)
    await record_event(
        conn,
        org_id=org_id,
        workspace_id=workspace_id,
        seq=taken,
        type=EventType.WORKSPACE_DELETED,
        actor_id=actor_id,
        data={"workspace_id": workspace_id},
    )
    await jobs.enqueue(
        conn,
        action="delete",
        org_id=org_id,
        workspace_id=workspace_id,
        bucket=current["s3_bucket"],
        region=current["region"],
    )
