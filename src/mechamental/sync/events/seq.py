"""The per-workspace event order: the one place that hands out event numbers (`seq`).

`workspaces.event_seq` is the last number handed out. Every event of a workspace (its
changes, its bucket status, presence) takes the next numbers by bumping that column,
which locks the workspace row until the transaction ends: numbers are gap-free and in
commit order, one total order per workspace. A change that already UPDATEs the row adds
`BUMP_SEQ` to its values and reads `TAKEN_SEQ` back (RETURNING); anything else calls
`take_seqs`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, bindparam, update

from mechamental.db import Conn
from mechamental.tables import workspaces

FIRST_SEQ = 1  # a new workspace's `workspace.created` (its row starts at event_seq = 1)

# Add to the values of an UPDATE of a workspace row; RETURNING `TAKEN_SEQ` gives the number.
BUMP_SEQ: dict[str, Any] = {"event_seq": workspaces.c.event_seq + 1}
TAKEN_SEQ = workspaces.c.event_seq

_TAKE = (
    update(workspaces)
    # Not "workspace_id": an UPDATE reserves its columns' names for the SET clause.
    .where(workspaces.c.workspace_id == bindparam("workspace"))
    .values(event_seq=workspaces.c.event_seq + bindparam("count", type_=Integer()))
    .returning(workspaces.c.event_seq)
)


async def take_seqs(conn: Conn, *, workspace_id: str, count: int = 1) -> range:
    """Take the workspace's next `count` numbers (locks its row); empty if it is gone."""
    last = (await conn.execute(_TAKE, {"workspace": workspace_id, "count": count})).scalar()
    return range(0) if last is None else range(last - count + 1, last + 1)
