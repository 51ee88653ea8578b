"""Internal tuning of the sync hub (`MECHAMENTAL_SYNC_*`), beyond the documented settings.

It is `Settings.sync`: read from the environment with the rest of the settings, so an app
built by `create_app(settings)` behaves as those settings say (tests pass `sync=...`).
"""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class SyncTuning(BaseSettings):
    """Knobs operators rarely touch; tests use them to make time-based behaviour quick."""

    model_config = SettingsConfigDict(env_prefix="MECHAMENTAL_SYNC_", extra="ignore")

    # The stream's `timeout` is multiplied by this (tests: a 60 s timeout in ~1 s).
    timeout_scale: float = 1.0
    # Events of a busy workspace close together share one write per stream: the wait after
    # a write is ~3x what that write took (1,000 streams: ~40 ms), at most this long.
    batch_window_seconds: float = 0.05
    # Frames of recent events kept per workspace for replay without the database.
    ring_size: int = 256
    # How often presence deadlines are checked and process leases renewed (real seconds).
    sweep_interval_seconds: float = 0.5
    # A process that has not renewed its lease for this long is dead (Redis mode).
    process_lease_seconds: float = 10.0
    # Unpublished outbox rows older than this are published by any process (Redis mode).
    orphan_after_seconds: float = 3.0
    # How often the outbox is checked for orphans, and retention pruned.
    drain_interval_seconds: float = 1.0
    prune_interval_seconds: float = 60.0
    # Redis connections per process for commands (plus one for the subscription).
    redis_max_connections: int = 8
    redis_socket_timeout_seconds: float = 5.0
    # Off only in tests that simulate a process dying between commit and publish.
    publish: bool = True
