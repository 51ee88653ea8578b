"""Database access: one async interface, two small classes (embedded SQLite, PostgreSQL).

SQLite runs on the event-loop thread through the plain `sqlite3` driver: a query on a
warm page cache takes microseconds, far less than aiosqlite's thread hop per call, which
dominated the read path. Writes are serialised by an asyncio lock and use
`BEGIN IMMEDIATE`, so a write transaction never waits for a lock it cannot get.

PostgreSQL: every connection the process holds comes from two pools, both bounded and
both created once: the SQLAlchemy engine (transactions, the worker, ordinary reads) and
a raw asyncpg pool for the precompiled hot reads. `split_connections` divides the one
budget (`DB_MAX_CONNECTIONS`) between them; a request waits for a free connection up to
`DB_WAIT_SECONDS`. A lost connection, a server starting or stopping, a full pool past the
wait, or SQLite's write lock past its busy timeout raise `DatabaseUnavailable` (503 with
`Retry-After`), never a 500. Code above this module sees only `Conn`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

import asyncpg
from sqlalchemy import Connection, CursorResult, MetaData, Select, literal, select, true
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.sql import Insert
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.expression import FromClause, Join
from sqlalchemy.sql.schema import Table

from mechamental.embedded import Synchronous, hold_open_lock, sqlite_engine
from mechamental.embedded import sqlite_path as sqlite_path
from mechamental.errors import DatabaseUnavailable
from mechamental.fastquery import FastQuery
from mechamental.hooks import AfterCommit, Hooks, Listeners, Topic
from mechamental.pooling import Gate, is_outage, split_connections
from mechamental.types import JSON_ARGS

if TYPE_CHECKING:
    from mechamental.config import Settings

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

log = logging.getLogger("mechamental.db")
T = TypeVar("T")
P = TypeVar("P")
__all__ = [
    "AfterCommit",
    "Conn",
    "Database",
    "Listeners",
    "PostgresDatabase",
    "SqliteDatabase",
    "Topic",
    "metadata",
    "sqlite_path",
]


class Conn(Protocol):
    """A connection in (or out of) a transaction; the only DB surface services use."""

    dialect: str

    async def execute(self, stmt: Executable, params: Any = None) -> CursorResult[Any]:
        """Run one Core statement (`.rowcount` says how many rows a DML statement touched)."""
        ...

    async def fetch(self, query: FastQuery, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Run a precompiled hot-path SELECT; rows as dicts."""
        ...

    def after_commit(self, callback: AfterCommit) -> None:
        """Run `callback` once the surrounding transaction has committed (a reader: now)."""
        ...

    def notify(self, topic: Topic[P], payload: P) -> None:
        """Tell the database's listeners of `topic` about `payload` once this commits."""
        ...


DIALECTS = ("sqlite", "postgresql")


def join_picked(dialect: str, parent: FromClause, child: Table, ids: Select[Any]) -> Join:
    """`parent` joined with the rows of `child` that `ids` picks for each parent row (`ids`
    selects `child` ids, correlated to `parent`, with a LIMIT of its own: each endpoint's
    oldest due deliveries). PostgreSQL runs it as a LATERAL subquery, once per parent row:
    written as `child.id IN (ids)`, its planner ran `ids` once per child row (a 3,000
    delivery backlog made one claim take over 20 s). SQLite has no LATERAL, and runs
    `IN (ids)` once per parent row."""
    if dialect == "postgresql":
        picked = ids.lateral("picked")
        return parent.join(picked, true()).join(child, child.c.id == picked.c.id)
    return parent.join(child, child.c.id.in_(ids))


def insert_if_absent(conn: Conn, table: Table) -> Insert:
    """INSERT that does nothing when the row's key already exists (waits for a racing insert)."""
    if conn.dialect == "postgresql":
        return pg_dialect.insert(table).on_conflict_do_nothing()
    return sqlite_dialect.insert(table).on_conflict_do_nothing()


class _SqliteConn(Hooks):
    """A `Conn` over a synchronous SQLAlchemy connection, run inline on the loop."""

    __slots__ = ("_conn",)
    dialect = "sqlite"

    def __init__(self, conn: Connection, listeners: Listeners, *, deferred: bool) -> None:
        super().__init__(listeners, deferred=deferred)
        self._conn = conn

    async def execute(self, stmt: Executable, params: Any = None) -> CursorResult[Any]:
        return self._conn.execute(stmt, params)

    async def fetch(self, query: FastQuery, params: dict[str, Any]) -> list[dict[str, Any]]:
        compiled = query.compiled("sqlite")
        raw = self._conn.connection.driver_connection
        assert isinstance(raw, sqlite3.Connection)
        return compiled.rows(raw.execute(compiled.sql, compiled.args(params)).fetchall())


class _PgTransaction(Hooks):
    """A PostgreSQL `Conn` inside a transaction (one SQLAlchemy `AsyncConnection`)."""

    __slots__ = ("_conn",)
    dialect = "postgresql"

    def __init__(self, conn: AsyncConnection, listeners: Listeners) -> None:
        super().__init__(listeners, deferred=True)
        self._conn = conn

    async def execute(self, stmt: Executable, params: Any = None) -> CursorResult[Any]:
        return await self._conn.execute(stmt, params)

    async def fetch(self, query: FastQuery, params: dict[str, Any]) -> list[dict[str, Any]]:
        compiled = query.compiled("postgresql")
        raw = (await self._conn.get_raw_connection()).driver_connection
        assert raw is not None
        return compiled.rows(await raw.fetch(compiled.sql, *compiled.args(params)))


class _PgReader(Hooks):
    """A PostgreSQL `Conn` for reads: hot queries on the asyncpg pool, others via SQLAlchemy."""

    __slots__ = ("_conn", "_db")
    dialect = "postgresql"

    def __init__(self, db: PostgresDatabase) -> None:
        super().__init__(db.listeners, deferred=False)
        self._db = db
        self._conn: AsyncConnection | None = None

    async def execute(self, stmt: Executable, params: Any = None) -> CursorResult[Any]:
        if self._conn is None:
            await self._db.engine_gate.enter()
            try:
                self._conn = await self._db.engine.connect()
            except BaseException:
                self._db.engine_gate.leave()
                raise
        return await self._conn.execute(stmt, params)

    async def fetch(self, query: FastQuery, params: dict[str, Any]) -> list[dict[str, Any]]:
        compiled = query.compiled("postgresql")
        pool = await self._db.read_pool()
        async with self._db.read_gate.turn(), pool.acquire(timeout=self._db.wait_seconds) as raw:
            try:
                records = await raw.fetch(compiled.sql, *compiled.args(params))
            except Exception as exc:
                if is_outage(exc):
                    raw.terminate()  # never hand a half-dead connection to the next request
                raise
        return compiled.rows(records)

    async def close(self) -> None:
        if self._conn is None:
            return
        try:
            await self._conn.rollback()
            await self._conn.close()
        except Exception:  # a dead connection: drop it, the read itself is done
            with contextlib.suppress(Exception):
                await self._conn.invalidate()
        finally:
            self._conn = None
            self._db.engine_gate.leave()


class Database:
    """The service's database: transactions for writes, a cheap path for reads.

    `Database(url, ...)` builds a `SqliteDatabase` or a `PostgresDatabase` from the URL.
    """

    dialect: str

    def __new__(cls, url: str, **_options: Any) -> Database:
        if cls is Database:
            cls = SqliteDatabase if url.startswith("sqlite") else PostgresDatabase
        return object.__new__(cls)

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 20,
        wait_seconds: float = 10.0,
        sqlite_synchronous: Synchronous = "NORMAL",
    ) -> None:
        self.url = url
        self.max_connections = max_connections
        self.wait_seconds = wait_seconds
        self.sqlite_synchronous = sqlite_synchronous
        self.listeners = Listeners()
        self._outage_logged = 0.0
        self._open()

    def _open(self) -> None:
        """Set up the connection pools (without connecting)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        """The database the settings describe."""
        return cls(
            settings.database_url,
            max_connections=settings.db_max_connections,
            wait_seconds=settings.db_wait_seconds,
            sqlite_synchronous=settings.sqlite_synchronous,
        )

    def transaction(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        """A unit of work: commits on success, rolls back on error, then runs after-commit hooks."""
        raise NotImplementedError

    def reader(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        """A connection for reads outside any transaction (each statement sees committed data)."""
        raise NotImplementedError

    def connections_in_use(self) -> int:
        """PostgreSQL connections checked out right now (0 on SQLite): a load signal."""
        return 0

    async def ping(self) -> None:
        """Raise unless the database answers a trivial query."""
        async with self.reader() as conn:
            await conn.execute(select(literal(1)))

    async def dispose(self) -> None:
        """Close every connection."""

    @contextlib.contextmanager
    def _outages(self) -> Iterator[None]:
        """Turn "the database is not there right now" into `DatabaseUnavailable`."""
        try:
            yield
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            if not is_outage(exc):
                raise
            now = time.monotonic()
            if now - self._outage_logged > 10:  # one line per blip, not one per request
                self._outage_logged = now
                log.warning("database unavailable: %s: %s", type(exc).__name__, exc)
            raise DatabaseUnavailable() from exc


class SqliteDatabase(Database):
    """Embedded SQLite: one read and one write connection on the loop thread."""

    dialect = "sqlite"

    def _open(self) -> None:
        self._write_lock = asyncio.Lock()
        self._read: Connection | None = None
        self._write: Connection | None = None
        path = sqlite_path(self.url)
        self._open_lock: IO[bytes] | None = hold_open_lock(path) if path else None
        wait, synchronous = self.wait_seconds, self.sqlite_synchronous
        self._read_engine = sqlite_engine(
            self.url, writer=False, busy_seconds=wait, synchronous=synchronous
        )
        self._write_engine = sqlite_engine(
            self.url, writer=True, busy_seconds=wait, synchronous=synchronous
        )

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        with self._outages():
            async with self._write_lock:
                if self._write is None:
                    self._write = self._write_engine.connect()
                sconn = self._write
                sconn.begin()
                conn = _SqliteConn(sconn, self.listeners, deferred=True)
                try:
                    yield conn
                except BaseException:
                    sconn.rollback()
                    raise
                sconn.commit()
        conn.committed()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Conn]:
        with self._outages():
            if self._read is None:
                self._read = self._read_engine.connect()
            yield _SqliteConn(self._read, self.listeners, deferred=False)

    async def dispose(self) -> None:
        for sconn in (self._read, self._write):
            if sconn is not None:
                sconn.close()
        self._read = self._write = None
        self._read_engine.dispose()
        self._write_engine.dispose()
        if self._open_lock is not None:
            self._open_lock.close()
            self._open_lock = None


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """The read pool only runs plain SELECTs: skip asyncpg's per-release RESET ALL round trip."""


class PostgresDatabase(Database):
    """PostgreSQL: a bounded SQLAlchemy engine plus a bounded raw asyncpg pool for hot reads."""

    dialect = "postgresql"

    def _open(self) -> None:
        self.read_pool_size, self.engine_pool_size = split_connections(self.max_connections)
        self.engine = create_async_engine(
            self.url,
            pool_size=self.engine_pool_size,
            max_overflow=0,
            pool_timeout=self.wait_seconds,
            pool_pre_ping=True,
            connect_args={"timeout": self.wait_seconds},
            **JSON_ARGS,
        )
        self.engine_gate = Gate(self.engine_pool_size, self.wait_seconds)
        self.read_gate = Gate(self.read_pool_size, self.wait_seconds)
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()

    async def read_pool(self) -> asyncpg.Pool:
        """The asyncpg pool, created once (min_size=0: creating it opens no connection)."""
        if self._pool is None:
            async with self._pool_lock:
                if self._pool is None:
                    dsn = make_url(self.url).set(drivername="postgresql")
                    self._pool = await asyncpg.create_pool(
                        dsn.render_as_string(hide_password=False),
                        min_size=0,
                        max_size=self.read_pool_size,
                        timeout=self.wait_seconds,
                        reset=_no_reset,
                    )
        return self._pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        with self._outages():
            async with self.engine_gate.turn(), self.engine.begin() as aconn:
                conn = _PgTransaction(aconn, self.listeners)
                yield conn
        conn.committed()

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[Conn]:
        reader = _PgReader(self)
        try:
            with self._outages():
                yield reader
        finally:
            await reader.close()

    def connections_in_use(self) -> int:
        used: int = self.engine.pool.checkedout()  # type: ignore[attr-defined]
        if self._pool is not None:
            used += self._pool.get_size() - self._pool.get_idle_size()
        return used

    async def dispose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
        await self.engine.dispose()


def run_in_transaction(source: Settings | str, work: Callable[[Conn], Awaitable[T]]) -> T:
    """Run `work` in one transaction on a fresh connection (for CLI commands; blocking)."""

    async def run() -> T:
        db = Database(source) if isinstance(source, str) else Database.from_settings(source)
        try:
            async with db.transaction() as conn:
                return await work(conn)
        finally:
            await db.dispose()

    return asyncio.run(run())
