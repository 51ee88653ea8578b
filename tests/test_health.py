"""Liveness and readiness probes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import make_settings
from tests.helpers import assert_envelope, running_app


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"]


async def test_readyz_names_the_database(client: httpx.AsyncClient, backend: str) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"sqlite": "sqlite", "postgres": "postgresql"}[backend],
    }


async def test_probes_need_no_token(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/readyz"):
        response = await client.get(path, headers={"Authorization": "Bearer mm_revoked_or_junk"})
        assert response.status_code == 200


@pytest.mark.parametrize("kind", ["postgres", "sqlite"])
async def test_readyz_is_503_when_the_database_is_unreachable(
    tmp_path: Path, kind: str
) -> None:
    if kind == "postgres":
        url = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    else:
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("a file where the database directory should be")
        url = f"sqlite:///{tmp_path / 'missing'/ 'sub'}/../../not-a-dir/x/db.sqlite"
        url = f"sqlite:///{tmp_path}"  # a directory: SQLite cannot open it as a database
    async with running_app(make_settings(url, tmp_path)) as (_, c):
        ready = await c.get("/readyz")
        body = assert_envelope(ready, 503, "SERVICE_UNAVAILABLE", {})
        for leak in ("127.0.0.1", "Connect", "Errno", "sqlite3", "OperationalError"):
            assert leak not in body["message"]
        assert (await c.get("/healthz")).status_code == 200
