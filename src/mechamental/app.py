"""The ASGI application: routers, error handlers, middleware and the process lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from mechamental import health
from mechamental.api_keys.routes import router as api_keys_router
from mechamental.api_keys.usage import key_usage_flusher_factory
from mechamental.auth.jwks import JWKSKeys
from mechamental.auth.jwt_verifier import JWTVerifier
from mechamental.auth.tickets import TicketSigner
from mechamental.buckets.worker import bucket_worker_factory
from mechamental.clock import Clock
from mechamental.config import Settings, get_settings
from mechamental.cors import CORSMiddleware
from mechamental.dashboard import install_ui
from mechamental.db import Database
from mechamental.docs_ui import install_docs
from mechamental.errors import install_handlers
from mechamental.exposition import metrics_factory
from mechamental.exposition import router as metrics_router
from mechamental.logging import component_logging
from mechamental.middleware import RequestMiddleware
from mechamental.openapi import install_openapi
from mechamental.ratelimit.component import limits_factory
from mechamental.retention import retention_factory
from mechamental.sealing import SecretBox
from mechamental.services import Component, Services
from mechamental.sync.hub import sync_component
from mechamental.sync.routes import router as sync_router
from mechamental.webhooks.routes import router as webhooks_router
from mechamental.webhooks.signing import SEAL_LABEL
from mechamental.webhooks.worker import webhook_worker_factory
from mechamental.workspaces.routes import router as workspaces_router
from mechamental.workspaces.service import read_api_workspace

ComponentFactory = Callable[[Services], Component | None]


def build_services(settings: Settings) -> Services:
    """Connect the process's long-lived parts (nothing is started yet)."""
    clock = Clock()
    secret_key = settings.resolved_secret_key()
    return Services(
        settings=settings,
        db=Database.from_settings(settings),
        jwt=JWTVerifier(settings, clock=clock),
        cursor_key=secret_key,
        tickets=TicketSigner(
            secret_key, lifetime_seconds=settings.stream_ticket_seconds, clock=clock
        ),
        clock=clock,
        webhook_secrets=SecretBox(secret_key, label=SEAL_LABEL),
    )


class JWKSRefresher(Component):
    """Fetches the identity provider's keys from startup on, and closes its client at the end.

    Here rather than in `auth`, which `services` imports (a package cycle otherwise).
    """

    name = "jwks refresher"

    def __init__(self, keys: JWKSKeys) -> None:
        self.keys = keys

    async def start(self) -> None:
        """Start the first fetch without waiting: the process starts even if the IdP is down."""
        self.keys.start()

    async def stop(self) -> None:
        """Cancel a fetch in flight."""
        await self.keys.close()


def jwks_refresher_factory(services: Services) -> Component | None:
    """The JWKS refresher when `JWT_JWKS_URL` is set."""
    keys = services.jwt.jwks
    return JWKSRefresher(keys) if keys is not None else None


def component_factories() -> list[ComponentFactory]:
    """Background parts that run inside the API process, in start order."""
    # The stream's snapshot reads the workspace through the app: sync does not import it.
    # The usage flusher starts first so that it stops last, after every request is done.
    return [
        key_usage_flusher_factory,
        metrics_factory,  # before the rest: collecting from the first stream on
        jwks_refresher_factory,
        limits_factory,  # before the hub: its registry tells the stream caps
        partial(sync_component, read_workspace=read_api_workspace),
        bucket_worker_factory,
        webhook_worker_factory,
        retention_factory,
    ]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for `settings` (the environment's by default)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = build_services(settings)
        app.state.services = services
        components = [c for f in component_factories() if (c := f(services)) is not None]
        started: list[Component] = []
        try:
            for component in components:
                # Tasks started here inherit the context: their lines say component=<name>.
                with component_logging(component.name):
                    await component.start()
                started.append(component)
            yield
        finally:
            for component in reversed(started):
                with component_logging(component.name):
                    await component.stop()
            await services.db.dispose()

    app = FastAPI(
        title="MechaMental",
        version="1.0.0",
        description="Multi-tenant workspaces with their buckets, live events and presence.",
        lifespan=lifespan,
        redirect_slashes=False,
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    if settings.ui_enabled:
        install_ui(app)
    install_handlers(app)
    install_openapi(app)
    app.add_middleware(RequestMiddleware, max_body_bytes=settings.max_body_bytes)
    # Outermost, so that errors the request middleware renders (413, 500) are readable too.
    app.add_middleware(
        CORSMiddleware,
        origins=settings.cors_origins,
        routes=app.router.routes,
        max_age=settings.cors_max_age_seconds,
    )
    # Routes are matched in order: the hot API paths first, probes last.
    app.include_router(workspaces_router)
    app.include_router(sync_router)
    app.include_router(api_keys_router)
    app.include_router(webhooks_router)
    app.include_router(health.router)
    app.include_router(metrics_router)
    return app
