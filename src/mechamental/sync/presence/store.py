"""Live presence state: who joined, until when, how many streams they hold, what they view.

Two stores share one contract: `MemoryPresenceStore` (one process, `memory_store`) and
`RedisPresenceStore` (many processes, `redis_store`). A store decides transitions
atomically and gives each change of a member's desired state a higher `version`; the
presence service then announces the change through the event log (see `ledger`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

Viewing = tuple[str, str]
Key = tuple[str, str]  # (workspace_id, user_id)


@dataclass(slots=True, frozen=True)
class Desired:
    """What a member's announced presence should be, as of `version`."""

    org_id: str
    present: bool
    viewing: Viewing | None
    version: int
    reason: str = "leave"  # why absent: "leave" or "expired"


class PresenceStore(Protocol):
    """Where live presence is kept; every method is one atomic step."""

    async def touch(
        self, key: Key, *, org_id: str, now: float, ttl: float, viewing: Viewing | None
    ) -> Desired | None:
        """Join (and view `viewing` if given), refresh the TTL; the new state if it changed."""
        ...

    async def leave(self, key: Key, *, now: float) -> Desired | None:
        """Leave; the new state if the member had joined."""
        ...

    async def set_streams(
        self, key: Key, *, org_id: str, count: int, now: float, grace: float
    ) -> None:
        """This process holds `count` open streams of the member."""
        ...

    async def settle(self, key: Key, *, now: float) -> tuple[Desired, bool]:
        """Apply expiry if due; the current state and whether it changed now."""
        ...

    async def due(self, *, now: float, limit: int) -> list[Key]:
        """Members whose deadline has passed (settle each)."""
        ...

    async def retry_later(self, key: Key, *, at: float) -> None:
        """Look at the member again at `at` (after a failed announcement)."""
        ...

    async def seed(
        self, key: Key, *, org_id: str, viewing: Viewing | None, version: int, until: float
    ) -> None:
        """Recreate an announced member missing from the store (after a restart)."""
        ...

    async def connections(self, workspace_id: str) -> dict[str, int]:
        """Open streams per user of a workspace, across processes."""
        ...

    async def maintain(self, *, now: float, lease: float, grace: float) -> bool:
        """Renew our lease, reap dead processes; True if the store lost our state (reset/reaped)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
