"""Helpers of the Python client's live tests: tenants and keys, and one consumer that runs
`client.sync(ws)` of either client (sync in a thread, async in a task) and collects what it
yields, so each test runs unchanged against both.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from mechamental_client import (
    AsyncMechaMental,
    Event,
    MechaMental,
    Reset,
    Status,
    Token,
)

from mechamental.auth import tokens
from mechamental.auth.permissions import Role
from mechamental.db import Database
from tests.conftest import create_tenant

Kind = Literal["sync", "async"]
KINDS: list[Kind] = ["sync", "async"]
WAIT = 90.0  # a bound on waiting (a hang detector), never a measurement
ATTEMPTS = 40  # failed connections in a row before a test's stream gives up (no stray loops)
Item = Event | Reset


@dataclass
class Tenant:
    """An org with a key per user id made for the test."""

    org_id: str
    url: str  # database
    keys: dict[str, tokens.IssuedToken] = field(default_factory=dict)

    async def key(self, user_id: str, role: Role = Role.ADMIN) -> str:
        """A new API key of `user_id`."""
        db = Database(self.url)
        try:
            async with db.transaction() as conn:
                issued = await tokens.create_token(
                    conn, org_id=self.org_id, user_id=user_id, role=role
                )
        finally:
            await db.dispose()
        self.keys[issued.secret] = issued
        return issued.secret

    async def revoke(self, secret: str) -> None:
        """Revoke a key made by `key` (streams opened with it end: `sync.unauthorized`)."""
        db = Database(self.url)
        try:
            async with db.transaction() as conn:
                issued = self.keys[secret]
                assert await tokens.revoke_token(conn, org_id=self.org_id, token_id=issued.id)
        finally:
            await db.dispose()


async def new_tenant(database_url: str) -> Tenant:
    """A fresh org."""
    db = Database(database_url)
    try:
        made = await create_tenant(db, "pyclient")
    finally:
        await db.dispose()
    return Tenant(made.org_id, database_url)


async def until(check: Callable[[], bool], what: str, within: float = WAIT) -> None:
    """Wait until `check()` holds; fail with `what` if it never does."""
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.05)


def updated_names(items: list[Item]) -> list[str]:
    """The new names of the `workspace.updated` events, in order."""
    return [
        str(e.data["changes"]["name"])
        for e in items
        if isinstance(e, Event) and e.type == "workspace.updated" and "name" in e.data["changes"]
    ]


def seqs(items: list[Item]) -> list[int]:
    """The positions of the events received (ids are `<seq>-<tag>`)."""
    return [int(e.id.split("-")[0]) for e in items if isinstance(e, Event) and e.id]


@dataclass
class Consumer:
    """`client.sync(ws)` of one kind of client running in the background until
    `workspace.deleted` (or `stop_after` says so)."""

    kind: Kind
    base_url: str
    org_id: str
    token: Token
    workspace_id: str
    last_event_id: str | None = None
    stop_after: Callable[[list[Item]], bool] = lambda _items: False
    items: list[Item] = field(default_factory=list)
    statuses: list[Status] = field(default_factory=list)
    connections: int = 0
    opened_from: list[str | None] = field(default_factory=list)
    error: BaseException | None = None
    _done: threading.Event = field(default_factory=threading.Event)
    _task: asyncio.Task[None] | None = None

    def start(self) -> Consumer:
        """Begin consuming."""
        if self.kind == "sync":
            threading.Thread(target=self._run_sync, daemon=True).start()
        else:
            self._task = asyncio.create_task(self._run_async())
        return self

    @property
    def live(self) -> bool:
        """Whether the stream is open now (its last status)."""
        return bool(self.statuses) and self.statuses[-1] == Status.LIVE

    def _take(self, item: Item) -> bool:
        self.items.append(item)
        return self.stop_after(self.items)

    def _run_sync(self) -> None:
        try:
            with MechaMental(self.base_url, self.org_id, token=self.token) as client:
                stream = client.sync(
                    self.workspace_id,
                    last_event_id=self.last_event_id,
                    max_attempts=ATTEMPTS,
                    on_status=self.statuses.append,
                )
                with stream:
                    for item in stream:
                        if self._take(item):
                            break
                self.connections = stream.state.connections
                self.opened_from = stream.state.opened_from
        except BaseException as error:  # reported by `finished`
            self.error = error
        finally:
            self._done.set()

    async def _run_async(self) -> None:
        try:
            async with AsyncMechaMental(self.base_url, self.org_id, token=self.token) as client:
                stream = client.sync(
                    self.workspace_id,
                    last_event_id=self.last_event_id,
                    max_attempts=ATTEMPTS,
                    on_status=self.statuses.append,
                )
                async with stream:
                    async for item in stream:
                        if self._take(item):
                            break
                self.connections = stream.state.connections
                self.opened_from = stream.state.opened_from
        except BaseException as error:
            self.error = error
        finally:
            self._done.set()

    async def finished(self) -> list[Item]:
        """Wait for the end; what it received (its error, if any, is raised)."""
        await until(self._done.is_set, f"{self.kind} stream of {self.workspace_id} ended")
        if self.error is not None:
            raise self.error
        return self.items
