"""When API keys were last used, gathered in memory so that authentication never writes.

`authenticate()` calls `KeyUsage.record` on every request made with a key: one dict store,
so the hot read path keeps its cost. `api_keys.usage.KeyUsageFlusher` takes the gathered
uses every `API_KEY_USAGE_FLUSH_SECONDS` and writes them in one batched UPDATE.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class KeyUsage:
    """The latest use of each key since the last flush (one process's view)."""

    __slots__ = ("_pending",)

    def __init__(self) -> None:
        self._pending: dict[str, datetime] = {}

    def record(self, key_id: str, at: datetime) -> None:
        """Note that `key_id` authenticated at `at` (O(1); the latest use wins)."""
        self._pending[key_id] = at

    def take(self) -> dict[str, datetime]:
        """Every use noted since the last `take`, leaving none behind."""
        pending, self._pending = self._pending, {}
        return pending

    def restore(self, uses: Mapping[str, datetime]) -> None:
        """Put back uses a failed flush could not write; a use noted since then wins."""
        for key_id, at in uses.items():
            self._pending.setdefault(key_id, at)

    def __len__(self) -> int:
        return len(self._pending)
