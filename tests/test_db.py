"""The database interface behaves the same on both databases: hooks, rowcount, the budget."""

from __future__ import annotations

import pytest
from sqlalchemy import literal, select, update

from mechamental.db import Database, PostgresDatabase, SqliteDatabase, Topic
from mechamental.pooling import split_connections
from mechamental.workspaces.models import workspaces

TOLD: Topic[str] = Topic("told")


async def test_after_commit_and_notify_behave_the_same_on_both(database_url: str) -> None:
    db = Database(database_url)
    heard: list[str] = []
    db.listeners.add(TOLD, heard.append)
    try:
        async with db.reader() as conn:
            conn.after_commit(lambda: heard.append("reader hook"))
            conn.notify(TOLD, "reader notify")
            assert heard == ["reader hook", "reader notify"]  # no transaction: at once
        heard.clear()
        async with db.transaction() as conn:
            conn.after_commit(lambda: heard.append("tx hook"))
            conn.notify(TOLD, "tx notify")
            assert heard == []  # not before the commit
        assert heard == ["tx hook", "tx notify"]
        heard.clear()
        with pytest.raises(RuntimeError):
            async with db.transaction() as conn:
                conn.notify(TOLD, "rolled back")
                raise RuntimeError
        assert heard == []
    finally:
        await db.dispose()


async def test_rowcount_and_the_class_per_url(database_url: str, backend: str) -> None:
    db = Database(database_url)
    try:
        assert isinstance(db, {"sqlite": SqliteDatabase, "postgres": PostgresDatabase}[backend])
        async with db.transaction() as conn:
            result = await conn.execute(
                update(workspaces).where(workspaces.c.workspace_id == "none").values(name="x")
            )
            assert result.rowcount == 0
            assert (await conn.execute(select(literal(1)))).scalar_one() == 1
    finally:
        await db.dispose()


@pytest.mark.parametrize("total", [2, 3, 8, 20, 101])
def test_the_budget_is_split_without_going_over(total: int) -> None:
    reads, engine = split_connections(total)
    assert reads >= 1 and engine >= 1 and reads + engine == total


async def test_postgres_pools_are_sized_from_the_one_setting(postgres_database_url: str) -> None:
    db = Database(postgres_database_url, max_connections=6)
    try:
        assert isinstance(db, PostgresDatabase)
        assert db.read_pool_size + db.engine_pool_size == 6
        pool = await db.read_pool()
        assert pool.get_max_size() == db.read_pool_size
        assert await db.read_pool() is pool  # created once
    finally:
        await db.dispose()
