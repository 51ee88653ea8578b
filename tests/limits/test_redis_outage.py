"""A Redis that goes away never fails a request: the limiter falls back to this process's
own buckets (limits still hold, per process) and goes back to Redis once it answers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from mechamental.app import create_app
from tests.conftest import create_tenant
from tests.limits.conftest import limits_settings
from tests.sync.procs import RedisServer

pytestmark = pytest.mark.timeout(300)


async def test_limits_survive_a_redis_outage(
    database_url: str, tmp_path: Path, redis_url: str
) -> None:
    redis = RedisServer(tmp_path)
    await redis.start()
    settings = limits_settings(
        database_url,
        tmp_path,
        redis_url=redis.url,
        redis_prefix="mmtest-outage",
        tuning={"rest_credential_rate": 0.001, "rest_credential_burst": 2},
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            tenant = await create_tenant(app.state.services.db, "outage")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

                async def status() -> int:
                    response = await client.get(tenant.base, headers=tenant.headers())
                    return response.status_code

                assert [await status() for _ in range(3)] == [200, 200, 429]  # on Redis
                await redis.stop()
                # This process's own buckets: fresh, and still limiting.
                assert [await status() for _ in range(3)] == [200, 200, 429]
                await redis.start()  # back, empty
                app.state.services.clock.advance(2)  # past the retry pause
                assert [await status() for _ in range(3)] == [200, 200, 429]
    finally:
        await redis.stop()
