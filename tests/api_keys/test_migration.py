"""Migration 0002: the migrated databases match the tables, and existing keys carry over."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, pool
from sqlalchemy.ext.asyncio import create_async_engine

import mechamental.auth.models
import mechamental.buckets.models
import mechamental.sync.events.models
import mechamental.sync.presence.models
import mechamental.tables
import mechamental.workspaces.models  # noqa: F401  (registers every table, as env.py does)
from mechamental.db import metadata
from mechamental.migrations import alembic_config, upgrade


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_the_migrated_schema_is_the_tables(database_url: str) -> None:
    """Every table, column and index of `metadata` is what the migrations made (both dialects)."""
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, poolclass=pool.NullPool)
        with engine.connect() as connection:
            assert _differences(connection) == []
        engine.dispose()
        return
    async_engine = create_async_engine(database_url, poolclass=pool.NullPool)
    try:
        async with async_engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await async_engine.dispose()


def test_keys_made_before_0002_carry_over(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    upgrade(url, "0001")
    with sqlite3.connect(path) as conn:
        stamp = "2026-01-01T00:00:00.000000Z"
        conn.execute("INSERT INTO organizations VALUES ('o', 'o', ?, 0)", (stamp,))
        conn.execute(
            "INSERT INTO api_tokens (id, org_id, user_id, role, token_hash, created_at)"
            " VALUES ('t', 'o', 'u', 'owner', 'h', ?)",
            (stamp,),
        )
    upgrade(url)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name, last_used_at FROM api_tokens").fetchall() == [("", None)]
        indexes = {row[1] for row in conn.execute("PRAGMA index_list('api_tokens')")}
        assert "ix_api_tokens_revoked_at" in indexes
    command.downgrade(alembic_config(url), "0001")
    with sqlite3.connect(path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info('api_tokens')")}
        assert columns.isdisjoint({"name", "last_used_at"})
        assert conn.execute("SELECT id FROM api_tokens").fetchall() == [("t",)]
    upgrade(url)
