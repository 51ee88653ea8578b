"""Alembic environment: SQLite through the sync driver, PostgreSQL through asyncpg."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, create_engine, pool, text
from sqlalchemy.ext.asyncio import create_async_engine

import mechamental.auth.models
import mechamental.buckets.models
import mechamental.sync.events.models
import mechamental.sync.presence.models
import mechamental.tables
import mechamental.webhooks.models
import mechamental.workspaces.models  # noqa: F401  (registers the tables)
from mechamental.db import metadata, sqlite_path

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several processes may start at once; one migrates, the others wait.
            connection.execute(text("SELECT pg_advisory_xact_lock(727274001)"))
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


if url.startswith("sqlite"):
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}" if path else "sqlite://", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
        connection.commit()
    engine.dispose()
else:
    asyncio.run(_run_async())
