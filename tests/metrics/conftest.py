"""Metrics fixtures: the app with metrics on (a token), on a real server with the stream
protocol, over the embedded bus and Redis (the sync fixtures), and scraping helpers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mechamental.config import Settings, SyncTuning
from tests.conftest import make_settings
from tests.sync.conftest import (  # noqa: F401  (fixtures used here too)
    REDIS_URL,
    bus,
    bus_url,
    prefix,
    procs,
    redis_cluster,
    redis_prefix,
    redis_url,
    server,
    tenant_db,
)

TOKEN = "metrics-test-token-" + "m" * 16
SCRAPE = {"Authorization": f"Bearer {TOKEN}"}
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "metrics_settings(**kw): Settings overrides")


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    redis_prefix: str | None,  # noqa: F811
    request: pytest.FixtureRequest,
) -> Settings:
    """Metrics on (the token), readings never cached; marker `metrics_settings` overrides."""
    overrides: dict[str, Any] = {"metrics_token": TOKEN, "metrics_readings_seconds": 0.0}
    if redis_prefix is not None:
        url = bus_url(request.getfixturevalue("bus"), request)
        overrides.update(redis_url=url, redis_prefix=redis_prefix)
    marker = request.node.get_closest_marker("metrics_settings")
    if marker is not None:
        overrides.update(marker.kwargs)
    tuning = SyncTuning(sweep_interval_seconds=0.2, **overrides.pop("sync", {}))
    return make_settings(database_url, tmp_path, sync=tuning, **overrides)


def parse(text: str) -> Samples:
    """Every sample of a text exposition by (name, sorted labels)."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(client: httpx.AsyncClient, url: str = "/metrics") -> Samples:
    """GET /metrics with the token; its samples."""
    response = await client.get(url, headers=SCRAPE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent: a labelled child not created yet)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
