"""Workspace operations. Callers own the transaction; these functions never commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import RowMapping, delete, func, insert, select, tuple_, update
from sqlalchemy.sql import Select

from mechamental.auth.models import organizations
from mechamental.buckets import jobs
from mechamental.db import Conn
from mechamental.errors import PreconditionFailed, ResourceNotFound, validation_error
from mechamental.ids import new_id
from mechamental.sync.outbox import next_seq, record_event
from mechamental.types import utcnow
from mechamental.workspaces.cursor import Position
from mechamental.workspaces.models import workspace_tags, workspaces
from mechamental.workspaces.schemas import BucketStatus

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



def to_api(row: RowMapping) -> dict[str, Any]:
    """A workspace row as the API shows it."""
    return {name: row[name] for name in _API_FIELDS}


def etag(row: RowMapping) -> str:
    """The strong ETag of a workspace's current representation."""
    return f'"{row["workspace_id"]}.{row["version"]}"'


def check_if_match(if_match: str | None, row: RowMapping) -> None:
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


@dataclass(frozen=True, slots=True)
class Page:
    """One page of workspaces."""

    total: int
    items: list[RowMapping]
    has_more: bool


async def _ensure_org(conn: Conn, org_id: str) -> None:
    exists = (
        await conn.execute(select(organizations.c.id).where(organizations.c.id == org_id))
    ).first()
    if exists is None:
        # Orgs named by JWTs from an external issuer appear on first write.
        await conn.execute(
            insert(organizations).values(
                id=org_id, name=org_id, created_at=utcnow(), workspace_count=0
            )
        )


async def _adjust_count(conn: Conn, org_id: str, delta: int) -> None:
    await conn.execute(
        update(organizations)
        .where(organizations.c.id == org_id)
        .values(workspace_count=organizations.c.workspace_count + delta)
    )


async def _replace_tags(conn: Conn, *, org_id: str, workspace_id: str, tags: list[str]) -> None:
    await conn.execute(delete(workspace_tags).where(workspace_tags.c.workspace_id == workspace_id))
    if tags:
        await conn.execute(
            insert(workspace_tags),
            [{"workspace_id": workspace_id, "org_id": org_id, "tag": t} for t in tags],
        )


async def create_workspace(
    conn: Conn,
    *,
    org_id: str,
    owner_id: str,
    values: dict[str, Any],
    region: str,
    bucket_prefix: str,
) -> RowMapping:
    """Insert a workspace, its tags, its event and its bucket job; return the new row."""
    workspace_id = new_id()
    now = utcnow()
    bucket = jobs.bucket_name(bucket_prefix, workspace_id)
    await _ensure_org(conn, org_id)
    row = (
        await conn.execute(
            insert(workspaces)
            .values(
                workspace_id=workspace_id,
                org_id=org_id,
                name=values["name"],
                description=values.get("description"),
                owner_id=owner_id,
                subscription_plan_id=values.get("subscription_plan_id"),
                is_active=values.get("is_active", True),
                tags=values.get("tags", []),
                region=region,
                s3_bucket=bucket,
                bucket_status=BucketStatus.PENDING.value,
                version=1,
                event_seq=1,
                created_at=now,
                updated_at=now,
            )
            .returning(*API_COLUMNS)
        )
    ).mappings().one()
    if row["tags"]:
        await _replace_tags(conn, org_id=org_id, workspace_id=workspace_id, tags=row["tags"])
    await _adjust_count(conn, org_id, +1)
    await record_event(
        conn,
        org_id=org_id,
        workspace_id=workspace_id,
        seq=1,
        type="workspace.created",
        actor_id=owner_id,
        data={"workspace": to_api(row)},
    )
    await jobs.enqueue(
        conn, action="provision", org_id=org_id, workspace_id=workspace_id, bucket=bucket,
        region=region,
    )  # fmt: skip
    return row


_GET = select(*API_COLUMNS)


async def get_workspace(conn: Conn, *, org_id: str, workspace_id: str) -> RowMapping:
    """The workspace `workspace_id` of `org_id`, or 404."""
    row = (
        await conn.execute(
            _GET.where(workspaces.c.workspace_id == workspace_id, workspaces.c.org_id == org_id)
        )
    ).mappings().first()
    if row is None:
        raise ResourceNotFound("workspace", workspace_id)
    return row


def _filtered(query: Select[Any], org_id: str, filters: ListFilters) -> Select[Any]:
    query = query.where(workspaces.c.org_id == org_id)
    if filters.is_active is not None:
        query = query.where(workspaces.c.is_active == filters.is_active)
    if filters.region is not None:
        query = query.where(workspaces.c.region == filters.region)
    if filters.q:
        query = query.where(func.lower(workspaces.c.name).contains(filters.q.lower(), autoescape=True))
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
    query = _filtered(select(*API_COLUMNS), org_id, filters)
    if after is not None:
        query = query.where(
            tuple_(workspaces.c.created_at, workspaces.c.workspace_id)
            < tuple_(after.created_at, after.workspace_id)
        )
    query = query.order_by(workspaces.c.created_at.desc(), workspaces.c.workspace_id.desc())
    rows = list((await conn.execute(query.limit(limit + 1))).mappings())
    if filters.any:
        count_query = _filtered(select(func.count()).select_from(workspaces), org_id, filters)
        total = (await conn.execute(count_query)).scalar_one()
    else:
        total = (
            await conn.execute(
                select(organizations.c.workspace_count).where(organizations.c.id == org_id)
            )
        ).scalar() or 0
    return Page(total=total, items=rows[:limit], has_more=len(rows) > limit)


async def update_workspace(
    conn: Conn,
    *,
    org_id: str,
    workspace_id: str,
    actor_id: str,
    changes: dict[str, Any],
    if_match: str | None,
) -> RowMapping:
    """Apply the fields in `changes` that differ; an update that changes nothing is a no-op."""
    current = (
        await conn.execute(
            _GET.where(workspaces.c.workspace_id == workspace_id, workspaces.c.org_id == org_id)
            .with_for_update()
        )
    ).mappings().first()
    if current is None:
        raise ResourceNotFound("workspace", workspace_id)
    check_if_match(if_match, current)
    if "region" in changes and changes["region"] != current["region"]:
        raise validation_error(["body", "region"],
                               "region cannot be changed once the workspace exists",
                               changes["region"], "region_immutable")  # fmt: skip
    changed = {k: v for k, v in changes.items() if k in UPDATABLE and current[k] != v}
    if not changed:
        return current
    row = (
        await conn.execute(
            update(workspaces)
            .where(workspaces.c.workspace_id == workspace_id)
            .values(
                **changed,
                updated_at=utcnow(),
                version=workspaces.c.version + 1,
                event_seq=workspaces.c.event_seq + 1,
            )
            .returning(*API_COLUMNS, workspaces.c.event_seq)
        )
    ).mappings().one()
    if "tags" in changed:
        await _replace_tags(conn, org_id=org_id, workspace_id=workspace_id, tags=changed["tags"])
    await record_event(
        conn,
        org_id=org_id,
        workspace_id=workspace_id,
        seq=row["event_seq"],
        type="workspace.updated",
        actor_id=actor_id,
        data={"changes": {k: row[k] for k in changed}, "workspace": to_api(row)},
    )
    return row


async def delete_workspace(
    conn: Conn, *, org_id: str, workspace_id: str, actor_id: str, if_match: str | None
) -> None:
    """Delete a workspace, announce it, and queue its bucket's removal."""
    current = (
        await conn.execute(
            _GET.where(workspaces.c.workspace_id == workspace_id, workspaces.c.org_id == org_id)
            .with_for_update()
        )
    ).mappings().first()
    if current is None:
        raise ResourceNotFound("workspace", workspace_id)
    check_if_match(if_match, current)
    seq = await next_seq(conn, workspace_id=workspace_id)
    assert seq is not None
    await conn.execute(delete(workspaces).where(workspaces.c.workspace_id == workspace_id))
    await _adjust_count(conn, org_id, -1)
    await record_event(
        conn,
        org_id=org_id,
        workspace_id=workspace_id,
        seq=seq,
        type="workspace.deleted",
        actor_id=actor_id,
        data={"workspace_id": workspace_id},
    )
    await jobs.enqueue(
        conn, action="delete", org_id=org_id, workspace_id=workspace_id,
        bucket=current["s3_bucket"], region=current["region"],
    )  # fmt: skip
