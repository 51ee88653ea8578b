"""OpenAPI additions for what the auth dependency reads straight from the request.

The dependency takes `org_id` from the path and `authorization` from the headers itself
(FastAPI's per-parameter validation costs ~25 us each on every request), so they are added
to the document here, in the same shape FastAPI would have produced.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

_PATH_PARAM = re.compile(r"{([^}]+)}")
AUTHORIZATION_PARAM = {
    "name": "authorization",
    "in": "header",
    "required": False,
    "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Authorization"},
    "description": "`Bearer <token>`: an API key or a JWT",
}


def _path_param(name: str) -> dict[str, Any]:
    title = name.replace("_", " ").title()
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "string", "title": title},
    }


def install_openapi(app: FastAPI) -> None:
    """Document path ids and the authorization header on every /v1 operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            for path, operations in schema["paths"].items():
                if not path.startswith("/v1/"):
                    continue
                for operation in operations.values():
                    params = operation.setdefault("parameters", [])
                    declared = {(p["in"], p["name"]) for p in params}
                    path_params = [
                        _path_param(n)
                        for n in _PATH_PARAM.findall(path)
                        if ("path", n) not in declared
                    ]
                    params[:0] = path_params
                    if ("header", "authorization") not in declared:
                        params.append(AUTHORIZATION_PARAM)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
