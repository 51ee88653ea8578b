"""The presence store of one process: dicts and a heap of deadlines (no Redis)."""

from __future__ import annotations

import heapq

from mechamental.clock import version_stamp
from mechamental.sync.presence.store import Desired, Key, Viewing


class _Member:
    __slots__ = ("joined", "org_id", "reason", "streams", "token", "until", "version", "viewing")

    def __init__(self, org_id: str) -> None:
        self.org_id = org_id
        self.joined = False
        self.until = 0.0
        self.viewing: Viewing | None = None
        self.version = 0
        self.streams = 0
        self.reason = "leave"
        self.token = 0

    def present(self, now: float) -> bool:
        return self.joined and (self.streams > 0 or self.until > now)

    def desired(self, now: float) -> Desired:
        present = self.present(now)
        viewing = self.viewing if present else None
        return Desired(self.org_id, present, viewing, self.version, self.reason)


class MemoryPresenceStore:
    """Presence of one process: dicts and a heap of deadlines."""

    remote = False

    def __init__(self) -> None:
        self._members: dict[str, dict[str, _Member]] = {}
        self._heap: list[tuple[float, int, str, str]] = []
        self._tokens = 0

    def _get(self, key: Key, org_id: str) -> _Member:
        users = self._members.setdefault(key[0], {})
        member = users.get(key[1])
        if member is None:
            member = users[key[1]] = _Member(org_id)
        return member

    def _find(self, key: Key) -> _Member | None:
        users = self._members.get(key[0])
        return users.get(key[1]) if users else None

    def _drop(self, key: Key) -> None:
        users = self._members.get(key[0])
        if users is not None:
            users.pop(key[1], None)
            if not users:
                del self._members[key[0]]

    def _schedule(self, key: Key, member: _Member, at: float | None) -> None:
        self._tokens += 1
        member.token = self._tokens
        if at is not None:
            heapq.heappush(self._heap, (at, member.token, key[0], key[1]))

    def _reschedule(self, key: Key, member: _Member) -> None:
        at = member.until if member.joined and member.streams == 0 else None
        self._schedule(key, member, at)

    async def touch(
        self, key: Key, *, org_id: str, now: float, ttl: float, viewing: Viewing | None
    ) -> Desired | None:
        member = self._get(key, org_id)
        before = member.desired(now)
        if not member.joined:
            member.viewing = None
        member.joined = True
        member.until = max(member.until, now + ttl)
        if viewing is not None:
            member.viewing = viewing
        self._reschedule(key, member)
        if before.present and before.viewing == member.viewing:
            return None
        member.version = version_stamp(member.version)
        return member.desired(now)

    async def leave(self, key: Key, *, now: float) -> Desired | None:
        member = self._find(key)
        if member is None or not member.joined:
            return None
        member.joined, member.viewing, member.reason = False, None, "leave"
        member.version = version_stamp(member.version)
        self._schedule(key, member, None)
        desired = member.desired(now)
        if member.streams == 0:
            self._drop(key)
        return desired

    async def set_streams(
        self, key: Key, *, org_id: str, count: int, now: float, grace: float
    ) -> None:
        member = self._find(key)
        if member is None:
            if count == 0:
                return
            member = self._get(key, org_id)
        before, member.streams = member.streams, count
        if before > 0 and count == 0 and member.joined:
            member.until = now + grace
        if not member.joined and count == 0:
            self._drop(key)
            return
        self._reschedule(key, member)

    async def settle(self, key: Key, *, now: float) -> tuple[Desired, bool]:
        member = self._find(key)
        if member is None:
            return Desired("", False, None, version_stamp(), "expired"), True
        changed = member.joined and not member.present(now)
        if changed:
            member.joined, member.viewing, member.reason = False, None, "expired"
            member.version = version_stamp(member.version)
        desired = member.desired(now)
        if not member.joined and member.streams == 0:
            self._drop(key)
        else:
            self._reschedule(key, member)
        return desired, changed

    async def due(self, *, now: float, limit: int) -> list[Key]:
        found: list[Key] = []
        while self._heap and self._heap[0][0] <= now and len(found) < limit:
            _, token, workspace_id, user_id = heapq.heappop(self._heap)
            member = self._find((workspace_id, user_id))
            if member is not None and member.token == token:
                found.append((workspace_id, user_id))
        return found

    async def retry_later(self, key: Key, *, at: float) -> None:
        member = self._find(key)
        if member is None:  # gone from the store: settling it announces its absence
            member = self._get(key, "")
            member.version = version_stamp()
        self._schedule(key, member, at)

    async def seed(
        self, key: Key, *, org_id: str, viewing: Viewing | None, version: int, until: float
    ) -> None:
        member = self._get(key, org_id)
        if member.joined:
            return
        member.joined, member.viewing, member.until = True, viewing, until
        member.version = max(member.version, version)
        self._reschedule(key, member)

    async def connections(self, workspace_id: str) -> dict[str, int]:
        users = self._members.get(workspace_id, {})
        return {user: m.streams for user, m in users.items() if m.streams}

    async def maintain(self, *, now: float, lease: float, grace: float) -> bool:
        return False

    async def close(self) -> None:
        return None
