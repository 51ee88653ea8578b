"""The rate limiter and stream caps of one process, as a `Component` (its Redis client, the
stream-cap lease loop), kept in `Services.extras` like the sync hub."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
import socket
from dataclasses import dataclass

from mechamental import redis_conn
from mechamental.ratelimit.limiter import RateLimiter
from mechamental.ratelimit.streams import StreamCaps
from mechamental.redis_conn import AnyRedis
from mechamental.services import Component, Services

EXTRAS_KEY = "limits"
# A check waits at most this for Redis before the process limits on its own (limiter.py).
REDIS_TIMEOUT_SECONDS = 0.5
REDIS_CONNECTIONS = 16
STOP_SECONDS = 2.0  # the lease loop's last round, at most


@dataclass(frozen=True, slots=True)
class Limits:
    """What the dependencies and the stream endpoint consult."""

    rate: RateLimiter
    streams: StreamCaps


def limits_of(services: Services) -> Limits | None:
    """The process's limits (None when `RATE_LIMITS` is off)."""
    limits: Limits | None = services.extras.get(EXTRAS_KEY)
    return limits


def _client(url: str, name: str) -> AnyRedis:
    # Its own small pool: a burst of checks never queues behind the sync hub's Redis work
    # (its presence lease must not wait), and a hung Redis costs a check 0.5 s at most.
    return redis_conn.connect(
        url, name=name, max_connections=REDIS_CONNECTIONS, timeout=REDIS_TIMEOUT_SECONDS
    )


class LimitsComponent(Component):
    """Runs the stream caps' lease loop (Redis only) and closes the client at the end."""

    name = "rate limits"

    def __init__(self, limits: Limits, redis: AnyRedis | None) -> None:
        self.limits = limits
        self.redis = redis
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Take our lease before the first stream opens (if Redis answers now)."""
        if self.redis is None:
            return
        with contextlib.suppress(Exception):
            await self.limits.streams.sync()
        self._task = asyncio.get_running_loop().create_task(self.limits.streams.run())

    async def stop(self) -> None:
        """Stop the loop; give our stream counts and lease back (the hub stopped first)."""
        self.limits.streams.stopping = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=STOP_SECONDS)
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.limits.streams.leave(), timeout=1.0)
            await self.redis.aclose()


def limits_factory(services: Services) -> Component | None:
    """Component factory for `app.component_factories()`, before the sync hub's."""
    settings = services.settings
    if not settings.rate_limits:
        return None
    redis: AnyRedis | None = None
    process_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    if settings.redis_url:
        name = f"{settings.redis_prefix}:limits:{process_id}".replace(" ", "_")
        redis = _client(settings.redis_url, name)
    limits = Limits(
        rate=RateLimiter(
            settings.rate_limit,
            clock=services.clock.now,
            redis=redis,
            prefix=settings.redis_prefix,
        ),
        streams=StreamCaps(
            per_user=settings.max_streams_per_user,
            per_org=settings.max_streams_per_org,
            retry_after=max(1, math.ceil(settings.retry_ms / 1000)),
            clock=services.clock.now,
            redis=redis,
            prefix=settings.redis_prefix,
            process_id=process_id,
            lease=settings.sync.process_lease_seconds,
            beat=settings.sync.sweep_interval_seconds,
        ),
    )
    services.extras[EXTRAS_KEY] = limits
    return LimitsComponent(limits, redis)
