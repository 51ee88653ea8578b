"""The process's long-lived components, built once at startup and kept on `app.state`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from mechamental.auth.jwt_verifier import JWTVerifier
from mechamental.auth.tickets import TicketSigner
from mechamental.auth.usage import KeyUsage
from mechamental.clock import Clock
from mechamental.config import Settings
from mechamental.db import Database
from mechamental.sealing import SecretBox

log = logging.getLogger("mechamental.services")


@dataclass
class Services:
    """Settings, database and the optional parts (sync hub, bucket worker) of one process."""

    settings: Settings
    db: Database
    jwt: JWTVerifier
    cursor_key: bytes
    tickets: TicketSigner
    clock: Clock  # the process's time (presence, tickets): tests move it forward
    # Seals and opens webhook signing secrets (a key derived from SECRET_KEY, made once).
    webhook_secrets: SecretBox
    # Uses of API keys, noted per request and written by `api_keys.usage.KeyUsageFlusher`.
    key_usage: KeyUsage = field(default_factory=KeyUsage)
    extras: dict[str, Any] = field(default_factory=dict)


async def get_services(request: Request) -> Services:
    """The running process's services."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


class Component:
    """Something that runs beside the API for the life of the process (sync hub, bucket worker)."""

    # Its log lines say `component=<name>` (the lifespan starts it in `component_logging`).
    name = "component"

    async def start(self) -> None:
        """Begin background work."""

    async def stop(self) -> None:
        """Finish promptly; called on shutdown."""


class PeriodicComponent(Component):
    """Runs `tick` every `interval` seconds until stopped. A tick that fails (the database
    is away) is logged in one line and tried again next round."""

    name = "periodic work"

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        """One round of the work."""

    async def start(self) -> None:
        """Begin the rounds."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Cancel the rounds (a round in progress is cancelled too)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception as exc:
                log.warning("%s failed (%s); trying again next round", self.name, exc)
