"""Fast JSON responses: orjson, encoded once, no second validation pass."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def dumps(data: Any) -> bytes:
    """Encode `data` as JSON (datetimes as UTC with a Z)."""
    return orjson.dumps(data, option=OPTIONS)


def json_response(
    data: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response from plain data."""
    return Response(dumps(data), status_code, headers, media_type="application/json")
