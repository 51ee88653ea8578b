"""The embedded SQLite file: engines, the "who has it open" lock, online backup and restore.

Durability: WAL with `synchronous=NORMAL` (the default) never loses a commit when the
process crashes, since the WAL is written before COMMIT returns; a power loss or kernel
crash may lose the last commits (not corrupt the file), because the WAL is fsynced only
at checkpoints. `synchronous=FULL` fsyncs the WAL on every commit (one fsync per write
transaction) and loses nothing acknowledged.

Every process that opens the file holds a shared `flock` on `<file>.lock` for as long as
it does; `restore` takes it exclusively, so it refuses while a server (or any command)
has the database open, and nothing can open it while a restore runs.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path
from typing import IO, Literal

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from mechamental.types import JSON_ARGS

Synchronous = Literal["NORMAL", "FULL"]


class DatabaseInUse(Exception):
    """Another process has the database open (or is restoring it)."""


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None for an in-memory database."""
    _, _, rest = url.partition(":///")
    return Path(rest) if rest and rest != ":memory:" else None


def lock_path(path: Path) -> Path:
    """The lock file beside the database file."""
    return path.with_name(path.name + ".lock")


def hold_open_lock(path: Path) -> IO[bytes]:
    """A shared lock saying "this process has the database open"; close the file to drop it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path(path).open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise DatabaseInUse(f"{path} is being restored; try again when it is done") from None
    return handle


def sqlite_engine(
    url: str, *, writer: bool, busy_seconds: float, synchronous: Synchronous
) -> Engine:
    """An engine with one connection to the file (reads and writes each get their own)."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        f"sqlite:///{path}" if path else "sqlite://",
        poolclass=StaticPool,
        **JSON_ARGS,
        connect_args={"check_same_thread": False, "isolation_level": None, "timeout": busy_seconds},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        assert isinstance(dbapi_conn, sqlite3.Connection)
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute(f"PRAGMA synchronous={synchronous}")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")
        dbapi_conn.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")

    if writer:
        # pysqlite's own transaction handling is off (isolation_level=None); we say BEGIN.
        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _check(path: Path) -> None:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        (verdict,) = conn.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise ValueError(f"{path} is damaged: {verdict}")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "alembic_version" not in tables:
            raise ValueError(f"{path} is not a MechaMental database")


def backup(source: Path, target: Path) -> None:
    """Copy `source` to `target` with SQLite's online backup (one consistent snapshot).

    In WAL mode the copy reads one snapshot and never blocks writers, so it is safe while
    the service runs. It goes to a temporary file first and is renamed into place.
    """
    if not source.is_file():
        raise FileNotFoundError(f"no database at {source}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    finally:
        dst.close()
        src.close()
    _check(partial)
    os.replace(partial, target)


def restore(backup_file: Path, target: Path) -> None:
    """Replace the database `target` with `backup_file`; refuses while anyone has it open."""
    _check(backup_file)
    target.parent.mkdir(parents=True, exist_ok=True)
    with lock_path(target).open("ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseInUse(
                f"{target} is open in another process (a running server?); stop it first"
            ) from None
        src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            dst.close()
            src.close()
