"""Revoked API keys end their open streams, on every process, whoever revoked them.

The database is the one record of a revocation (the HTTP API and the CLI both write
`api_tokens.revoked_at`), so every process polls it rather than listening on a channel
that a CLI without Redis, or a dropped subscription, could miss: one indexed query every
`SYNC_REVOCATION_POLL_SECONDS` (0.5 s) while the process has streams opened with keys,
nothing otherwise. A stream is ended within about one poll of the commit.

Each poll asks for revocations stamped in the last `MARGIN`, not since the previous poll:
a stamp comes from the revoker's clock and is committed a moment after it is taken, so a
narrow window could miss one. Seeing a revocation again is harmless (its streams are gone).
"""

from __future__ import annotations

from datetime import timedelta

from mechamental.auth.tokens import revoked_since
from mechamental.db import Database
from mechamental.sync.fanout.registry import StreamRegistry
from mechamental.types import utcnow

MARGIN = timedelta(seconds=30)


class RevocationWatch:
    """Polls for revoked keys and ends the registry's streams opened with them."""

    def __init__(self, db: Database, registry: StreamRegistry) -> None:
        self.db = db
        self.registry = registry

    async def poll(self) -> int:
        """End the streams of keys revoked lately; how many ended."""
        if not self.registry.by_key:
            return 0
        async with self.db.reader() as conn:
            revoked = await revoked_since(conn, since=utcnow() - MARGIN)
        return self.registry.revoke_keys(revoked)
