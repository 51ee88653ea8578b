"""Liveness and readiness probes.

`/livez` and `/healthz` answer while the process serves requests (no dependency is asked).
`/readyz` asks the database and, when configured, Redis, and names each in its body. Only
the database decides readiness: Redis is shared by every process, so failing readiness on
it would take them all out of rotation at once and turn a presence outage (503s on
presence calls, streams still open) into a whole-service outage; it reports `degraded`.
On a Redis Cluster every master is pinged: presence needs all of them (a workspace's keys
live on one master, the cross-workspace indexes on others), so one down is `unreachable`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from redis.asyncio.cluster import RedisCluster
from starlette.responses import Response

from mechamental.errors import ServiceUnavailable
from mechamental.responses import json_response
from mechamental.services import Services, ServicesDep
from mechamental.sync.hub import EXTRAS_KEY as SYNC_KEY

router = APIRouter(tags=["Health"])

_OK = b'{"status":"ok"}'
REDIS_PING_SECONDS = 2.0


@router.get("/healthz", summary="Process is up")
async def healthz() -> Response:
    """Always 200 while the process serves requests."""
    return Response(_OK, media_type="application/json")


@router.get("/livez", summary="Process is alive")
async def livez() -> Response:
    """Always 200 while the process serves requests (liveness: no dependency is asked)."""
    return Response(_OK, media_type="application/json")


@router.get("/readyz", summary="Database is reachable")
async def readyz(services: ServicesDep) -> Response:
    """200 when the database answers (each dependency in `checks`), else 503 in the envelope."""
    checks: dict[str, str] = {}
    try:
        await services.db.ping()
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unreachable"
    redis = await _redis(services)
    if redis is not None:
        checks["redis"] = redis
    if checks["database"] != "ok":
        raise ServiceUnavailable("The database is not reachable", checks=checks)
    status = "ok" if all(v == "ok" for v in checks.values()) else "degraded"
    body: dict[str, Any] = {"status": status, "database": services.db.dialect, "checks": checks}
    return json_response(body)


async def _redis(services: Services) -> str | None:
    hub = services.extras.get(SYNC_KEY)
    client = getattr(hub, "redis", None)
    if client is None:
        return None
    try:
        if isinstance(client, RedisCluster):
            ping = client.ping(target_nodes=RedisCluster.PRIMARIES)
        else:
            ping = client.ping()
        await asyncio.wait_for(ping, REDIS_PING_SECONDS)
    except Exception:
        return "unreachable"
    return "ok"
