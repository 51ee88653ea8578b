"""The collector stays out of the way of streams: a high young-generation threshold, and
hot statements built once, so that updates leave no cyclic garbage (`hub.GC_YOUNG_THRESHOLD`,
AGENTS.md)."""

from __future__ import annotations

import gc

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.sql.elements import BindParameter

from mechamental.db import Database
from mechamental.sync.events.models import events
from mechamental.sync.hub import GC_YOUNG_THRESHOLD
from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.conftest import new_workspace, rename


async def test_the_hub_raises_the_young_threshold(app: FastAPI, client: httpx.AsyncClient) -> None:
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
    assert gc.get_freeze_count() > 0


async def test_updates_and_their_publication_leave_no_statement_garbage(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    """A statement built per call leaves its bind parameters in reference cycles: updates
    (the UPDATE of the changed columns) and their publication (`mark_published`)."""
    ws = await new_workspace(client, tenant)
    await rename(client, tenant, ws, "warm")  # statements of this shape exist from here
    db: Database = app.state.services.db
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for n in range(20):
            await rename(client, tenant, ws, f"n{n}")
        await eventually(lambda: _pending(db), lambda left: left == 0)
        gc.collect()
        leaked = [o for o in gc.garbage if isinstance(o, BindParameter)]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert leaked == []


async def _pending(db: Database) -> int:
    """Events not yet published."""
    async with db.reader() as conn:
        query = select(func.count()).where(events.c.published.is_(False))
        return int((await conn.execute(query)).scalar_one())
