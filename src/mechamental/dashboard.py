"""The `/ui` dashboard: its page, its committed assets, and who the pasted key belongs to.

The page, its stylesheet and `dashboard.js` (the dashboard and the TypeScript client bundled
by ui/dashboard/build.mjs) are committed under `static/ui`, so `make run` needs no Node and
nothing loads from another host; tests/ui/test_dashboard_assets.py rebuilds them and fails
when they differ from their sources. A sign-in holds only a key, and the API's paths need the
org: `GET /ui/session` answers whose key it is (out of the OpenAPI document: not the reference).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from mechamental.dependencies import _bearer, _rate_limit, authenticate
from mechamental.ratelimit.policy import Kind
from mechamental.responses import json_response
from mechamental.services import Services

ASSETS = Path(__file__).parent / "static" / "ui"
PAGE = ASSETS / "index.html"
# Own origin only, and no inline script or style at all: the page is three static files.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def install_ui(app: FastAPI) -> None:
    """Serve the dashboard at /ui (same origin, so it calls the API without CORS)."""
    app.mount("/ui/assets", StaticFiles(directory=ASSETS), name="ui-assets")

    async def page() -> HTMLResponse:
        response = HTMLResponse(PAGE.read_text(encoding="utf-8"))
        response.headers["Content-Security-Policy"] = POLICY
        response.headers["Cache-Control"] = "no-cache"
        return response

    async def session(request: Request) -> Response:
        services: Services = request.app.state.services
        principal = await authenticate(services, _bearer(request.headers.get("authorization")))
        await _rate_limit(request, services, principal, Kind.REST)
        body = {
            "org_id": principal.org_id,
            "user_id": principal.user_id,
            "role": principal.role.value,
        }
        return json_response(body, headers={"Cache-Control": "no-store"})

    app.add_api_route("/ui", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/ui/session", session, methods=["GET"], include_in_schema=False)
