"""`/docs` (Swagger UI) and `/redoc`, served from assets inside the package (`/ui`: `dashboard`).

FastAPI's defaults load both from a CDN (and ReDoc's fonts from Google), so on a machine without
internet `/docs` is a blank page. The bundles are copied from npm by ui/docs-assets/copy.mjs
(versions pinned by its package-lock.json) into `static/docs`, so a `pip install` needs no Node.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "docs"
PREFIX = "/static/docs"
# Nothing leaves the origin: ReDoc's sidebar also links an image from cdn.redoc.ly, which this
# keeps the browser from even requesting. Inline scripts are the pages' own initialisers.
POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; font-src 'self' data:"
)


def install_docs(app: FastAPI) -> None:
    """Mount the assets and the two pages; `app` must be built with docs_url/redoc_url None."""
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{PREFIX}/favicon-32x32.png"

    async def swagger_ui() -> HTMLResponse:
        return _own_origin(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} - Swagger UI",
                swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
                swagger_css_url=f"{PREFIX}/swagger-ui.css",
                swagger_favicon_url=favicon,
            )
        )

    async def redoc() -> HTMLResponse:
        return _own_origin(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} - ReDoc",
                redoc_js_url=f"{PREFIX}/redoc.standalone.js",
                redoc_favicon_url=favicon,
                with_google_fonts=False,
            )
        )

    app.add_api_route("/docs", swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)


def _own_origin(response: HTMLResponse) -> HTMLResponse:
    response.headers["Content-Security-Policy"] = POLICY
    return response
