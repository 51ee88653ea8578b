"""OpenAPI additions: what the auth dependency reads itself, and what settings decide.

The dependency takes `org_id` from the path and `authorization` from the headers itself
(FastAPI's per-parameter validation costs ~25 us each on every request), so they are added
to the document here, in the same shape FastAPI would have produced. A workspace's
`region` must be one of the server's ALLOWED_REGIONS: the request bodies list them.
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


def _document_regions(schema: dict[str, Any], regions: tuple[str, ...]) -> None:
    components = schema.get("components", {}).get("schemas", {})
    for name in ("WorkspaceCreate", "WorkspaceUpdate"):
        region = components.get(name, {}).get("properties", {}).get("region")
        if region is None:
            continue
        for option in region.get("anyOf", [region]):
            if option.get("type") == "string":
                option["enum"] = list(regions)


def install_openapi(app: FastAPI) -> None:
    """Document path ids, the authorization header and the allowed regions."""

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
            services = getattr(app.state, "services", None)
            if services is not None:
                _document_regions(schema, services.settings.allowed_regions)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
