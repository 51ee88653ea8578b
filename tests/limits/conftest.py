"""Rate-limit fixtures: the app with limits on (marker `limits(**settings)`, `tuning=` for
the buckets), on both databases and both limiter stores (in memory, Redis).

The sync fixtures (Redis, real servers and processes) are reused from tests/sync.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mechamental.config import RateLimitTuning, Settings, SyncTuning
from tests.conftest import make_settings
from tests.sync import conftest as sync_fixtures
from tests.sync.conftest import REDIS_URL

# The sync fixtures this directory uses (Redis, real servers, real processes).
bus = sync_fixtures.bus
redis_url = sync_fixtures.redis_url
redis_prefix = sync_fixtures.redis_prefix
server = sync_fixtures.server
prefix = sync_fixtures.prefix
procs = sync_fixtures.procs
tenant_db = sync_fixtures.tenant_db

# Large enough that a test meets only the limit it sets.
ROOMY = {
    f"{kind}_{scope}_{what}": value
    for kind in ("rest", "stream", "presence")
    for scope in ("credential", "org")
    for what, value in (("rate", 1000.0), ("burst", 10_000))
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "limits(tuning=..., **settings): rate-limit settings for tests/limits"
    )


def limits_settings(database_url: str, data_dir: Path, **kw: Any) -> Settings:
    """Settings with limits on: `tuning` overrides the (roomy) buckets, the rest Settings."""
    tuning = {**ROOMY, **kw.pop("tuning", {})}
    values: dict[str, Any] = {
        "rate_limits": True,
        "rate_limit": RateLimitTuning(**tuning),
        "max_streams_per_user": 1000,
        "max_streams_per_org": 1000,
        "sync": SyncTuning(sweep_interval_seconds=0.2),
    }
    values.update(kw)
    return make_settings(database_url, data_dir, **values)


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, redis_prefix: str | None, request: pytest.FixtureRequest
) -> Settings:
    """The app's settings: limits on, in memory or on Redis (the `bus` parameter)."""
    marker = request.node.get_closest_marker("limits")
    kw: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    if redis_prefix is not None:
        kw.update(redis_url=REDIS_URL, redis_prefix=redis_prefix)
    return limits_settings(database_url, tmp_path, **kw)
