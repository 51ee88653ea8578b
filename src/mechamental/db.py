"""Database access: one async interface over PostgreSQL (asyncpg) and embedded SQLite.

SQLite runs on the event-loop thread through the plain `sqlite3` driver: a query on a
warm page cache takes microseconds, far less than aiosqlite's thread hop per call, which
dominated the read path. Writes are serialised by an asyncio lock and use
`BEGIN IMMEDIATE`, so a write transaction never waits for a lock it cannot get.
Code above this module sees only `Conn.execute(...)` with SQLAlchemy Core statements.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import asyncpg
import orjson
from sqlalchemy import Connection, Engine, MetaData, create_engine, event, literal, select
from sqlalchemy.engine import Result, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool
from sqlalchemy.sql.base import Executable

from mechamental.fastquery import FastQuery

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

AfterCommit = Callable[[], None]
T = TypeVar("T")
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Topic(Generic[P]):
    """Something committed work tells this process about (e.g. "an event was recorded")."""

    name: str


class Listeners:
    """Who hears each `Topic`: owned by one `Database`, so two apps in a process stay apart."""

    __slots__ = ("_by_topic",)

    def __init__(self) -> None:
        self._by_topic: dict[Topic[Any], list[Callable[[Any], None]]] = {}

    def add(self, topic: Topic[P], callback: Callable[[P], None]) -> None:
        """Call `callback(payload)` whenever a committed transaction notifies `topic`."""
        self._by_topic.setdefault(topic, []).append(callback)

    def remove(self, topic: Topic[P], callback: Callable[[P], None]) -> None:
        """Stop calling `callback` for `topic`."""
        callbacks = self._by_topic.get(topic, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def tell(self, topic: Topic[P], payload: P) -> None:
        """Call every listener of `topic`, in the order they were added."""
        for callback in list(self._by_topic.get(topic, ())):
            callback(payload)


def _json_serializer(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC).decode()


JSON_ARGS: dict[str, Any] = {"json_serializer": _json_serializer, "json_deserializer": orjson.loads}


class Conn(Protocol):
    """A connection in (or out of) a transaction; the only DB surface services use."""

    dialect: str

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]:
        """Run one Core statement."""
        ...

    async def fetch(self, query: FastQuery, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Run a precompiled hot-path SELECT; rows as dicts."""
        ...

    def after_commit(self, callback: AfterCommit) -> None:
        """Run `callback` once the surrounding transaction has committed."""
        ...

    def notify(self, topic: Topic[P], payload: P) -> None:
        """Tell the database's listeners of `topic` about `payload` once this commits."""
        ...


class _SyncConn:
    """A `Conn` over a synchronous SQLAlchemy connection, run inline on the loop."""

    __slots__ = ("_callbacks", "_conn", "_listeners", "dialect")

    def __init__(self, conn: Connection, listeners: Listeners) -> None:
        self._conn = conn
        self._listeners = listeners
        self._callbacks: list[AfterCommit] = []
        self.dialect = "sqlite"

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]:
        return self._conn.execute(stmt, params)

    async def fetch(self, query: FastQuery, params: dict[str, Any]) -> list[dict[str, Any]]:
        compiled = query.compiled("sqlite")
        raw = self._conn.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        return compiled.rows(raw.execute(compiled.sql, compiled.args(params)).fetchall())

    def after_commit(self, callback: AfterCommit) -> None:
        self._callbacks.append(callback)

    def notify(self, topic: Topic[P], payload: P) -> None:
        self.after_commit(partial(self._listeners.tell, topic, payload))


class _AsyncConn:
    """A `Conn` over an asyncpg-backed SQLAlchemy `AsyncConnection`."""

    __slots__ = ("_callbacks", "_conn", "_listeners", "dialect")

    def __init__(self, conn: AsyncConnection, listeners: Listeners) -> None:
        self._conn = conn
        self._listeners = listeners
        self._callbacks: list[AfterCommit] = []
        self.dialect = "postgresql"

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]:
        return await self._conn.execute(stmt, params)

    async def fetch(self, query: FastQuery, params: dict[str, Any]) -> list[dict[str, Any]]:
        compiled = query.compiled("postgresql")
        raw = (await self._conn.get_raw_connection()).driver_connection
        assert raw is not None
        return compiled.rows(await raw.fetch(compiled.sql, *compiled.args(params)))

    def after_commit(self, callback: AfterCommit) -> None:
        self._callbacks.append(callback)

    def notify(self, topic: Topic[P], payload: P) -> None:
        self.after_commit(partial(self._listeners.tell, topic, payload))


class _PgReader:
    """A PostgreSQL `Conn` for reads: hot queries on a raw asyncpg pool, others via SQLAlchemy."""

    __slots__ = ("_conn", "_db", "dialect")

    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: AsyncConnection | None = None
        self.dialect = "postgresql"

    async def execute(self, stmt: Executable, params: Any = None) -> Result[Any]:
        if self._conn is None:
            assert self._db._async_engine is not None
            self._conn = await self._db._async_engine.connect()
        return await self._conn.execute(stmt, params)

    async def fetch(self, query: FastQuery, params: dict[str, Any]) -> list[dict[str, Any]]:
        compiled = query.compiled("postgresql")
        pool = await self._db._asyncpg_pool()
        records = await pool.fetch(compiled.sql, *compiled.args(params))
        return compiled.rows(records)

    def after_commit(self, callback: AfterCommit) -> None:
        callback()  # no transaction: already "committed"

    def notify(self, topic: Topic[P], payload: P) -> None:
        self._db.listeners.tell(topic, payload)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.rollback()
            await self._conn.close()


def _run_callbacks(callbacks: list[AfterCommit]) -> None:
    for callback in callbacks:
        callback()


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for an in-memory database."""
    _, _, rest = url.partition(":///")
    return Path(rest) if rest and rest != ":memory:" else None


def _sqlite_engine(url: str, *, writer: bool) -> Engine:
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}" if path else "sqlite://",
        poolclass=StaticPool,
        **JSON_ARGS,
        connect_args={"check_same_thread": False, "isolation_level": None, "timeout": 10},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        assert isinstance(dbapi_conn, sqlite3.Connection)
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute("PRAGMA synchronous=NORMAL")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.execute("PRAGMA busy_timeout=10000")

    if writer:
        # pysqlite's own transaction handling is off (isolation_level=None); we say BEGIN.
        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """The read pool only runs plain SELECTs: skip asyncpg's per-release RESET ALL round trip."""


class Database:
    """The service's database: transactions for writes, a cheap path for reads."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.dialect = "sqlite" if url.startswith("sqlite") else "postgresql"
        self._write_lock = asyncio.Lock()
        self._sqlite_read: Connection | None = None
        self._sqlite_write: Connection | None = None
        self._async_engine: AsyncEngine | None = None
        self._pool: asyncpg.Pool | None = None
        self._pool_size = pool_size
        self.listeners = Listeners()
        if self.dialect == "sqlite":
            self._read_engine = _sqlite_engine(url, writer=False)
            self._write_engine = _sqlite_engine(url, writer=True)
        else:
            self._async_engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, **JSON_ARGS
            )

    def _sqlite_conn(self, *, write: bool) -> Connection:
        if write:
            if self._sqlite_write is None:
                self._sqlite_write = self._write_engine.connect()
            return self._sqlite_write
        if self._sqlite_read is None:
            self._sqlite_read = self._read_engine.connect()
        return self._sqlite_read

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A unit of work: commits on success, rolls back on error, then runs after-commit hooks."""
        if self._async_engine is not None:
            async with self._async_engine.begin() as aconn:
                conn = _AsyncConn(aconn, self.listeners)
                yield conn
            _run_callbacks(conn._callbacks)
            return
        async with self._write_lock:
            sconn = self._sqlite_conn(write=True)
            sconn.begin()
            wrapped = _SyncConn(sconn, self.listeners)
            try:
                yield wrapped
            except BaseException:
                sconn.rollback()
                raise
            sconn.commit()
        _run_callbacks(wrapped._callbacks)

    async def _asyncpg_pool(self) -> asyncpg.Pool:
        if self._pool is None:
            dsn = make_url(self.url).set(drivername="postgresql")
            self._pool = await asyncpg.create_pool(
                dsn.render_as_string(hide_password=False),
                min_size=1,
                max_size=self._pool_size,
                reset=_no_reset,
            )
        return self._pool

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Conn]:
        """A connection for reads outside any transaction (each statement sees committed data)."""
        if self._async_engine is not None:
            reader = _PgReader(self)
            try:
                yield reader
            finally:
                await reader.close()
            return
        yield _SyncConn(self._sqlite_conn(write=False), self.listeners)

    def connections_in_use(self) -> int:
        """PostgreSQL connections checked out right now (0 on SQLite): a load signal."""
        used = 0
        if self._async_engine is not None:
            used += self._async_engine.pool.checkedout()  # type: ignore[attr-defined]
        if self._pool is not None:
            used += self._pool.get_size() - self._pool.get_idle_size()
        return used

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query."""
        async with self.reader() as conn:
            await conn.execute(select(literal(1)))

    async def dispose(self) -> None:
        """Close every connection."""
        if self._async_engine is not None:
            if self._pool is not None:
                await self._pool.close()
                self._pool = None
            await self._async_engine.dispose()
            return
        for sconn in (self._sqlite_read, self._sqlite_write):
            if sconn is not None:
                sconn.close()
        self._sqlite_read = self._sqlite_write = None
        self._read_engine.dispose()
        self._write_engine.dispose()


def run_in_transaction(database_url: str, work: Callable[[Conn], Awaitable[T]]) -> T:
    """Run `work` in one transaction on a fresh connection (for CLI commands; blocking)."""

    async def run() -> T:
        db = Database(database_url)
        try:
            async with db.transaction() as conn:
                return await work(conn)
        finally:
            await db.dispose()

    return asyncio.run(run())
