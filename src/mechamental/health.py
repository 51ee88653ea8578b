"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from mechamental.errors import ServiceUnavailable
from mechamental.responses import json_response
from mechamental.services import ServicesDep

router = APIRouter(tags=["Health"])

_OK = b'{"status":"ok"}'


@router.get("/healthz", summary="Process is up")
async def healthz() -> Response:
    """Always 200 while the process serves requests."""
    return Response(_OK, media_type="application/json")


@router.get("/readyz", summary="Database is reachable")
async def readyz(services: ServicesDep) -> Response:
    """200 when the database answers, else 503 in the error envelope."""
    try:
        await services.db.ping()
    except Exception as exc:
        raise ServiceUnavailable("The database is not reachable") from exc
    return json_response({"status": "ok", "database": services.db.dialect})
