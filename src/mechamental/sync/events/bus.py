"""Fan-out between processes: nothing when embedded, Redis pub/sub when scaled out.

The event log in the database is the source of truth; the bus only carries frames
(at most once) so other processes need not poll. A subscriber that reconnects, or a
channel that sees a gap, reads what it missed from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from mechamental.clock import raise_if_cancelled
from mechamental.sync.events.frames import Frame

log = logging.getLogger("mechamental.sync.events.bus")
Deliver = Callable[[Frame], None]


class LocalBus:
    """One process: frames go to this process's channels only."""

    remote = False

    async def publish(self, frames: list[Frame]) -> None:
        """Nothing else to tell."""

    async def run(self, deliver: Deliver, on_connect: Callable[[], None]) -> None:
        """Nothing to listen to."""


def _pack(frame: Frame) -> bytes:
    # The commit time rides on the seq line ("<seq> <time>"): a process of the previous
    # version rejects such a frame ("bad frame") and reads the event from the log instead.
    return b"%s\n%d %.6f\n%s\n%s" % (
        frame.workspace_id.encode(),
        frame.seq,
        frame.committed_at,
        frame.type.encode(),
        frame.data,
    )


def _unpack(payload: bytes) -> Frame:
    workspace_id, position, type_, data = payload.split(b"\n", 3)
    seq, _, committed_at = position.partition(b" ")
    return Frame(workspace_id.decode(), int(seq), type_.decode(), data, float(committed_at or 0))


class RedisBus:
    """Frames published on one Redis channel; every process subscribes once."""

    remote = True

    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self.channel = f"{prefix}:sync:events"

    async def publish(self, frames: list[Frame]) -> None:
        """Publish frames in order (one round trip)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for frame in frames:
                pipe.publish(self.channel, _pack(frame))
            await pipe.execute()

    async def run(self, deliver: Deliver, on_connect: Callable[[], None]) -> None:
        """Subscribe (again after any failure) and hand every frame to `deliver`."""
        delay = 0.2
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                on_connect()  # whatever was published while we were away is in the log
                delay = 0.2
                while True:
                    message = await pubsub.get_message(timeout=30.0)
                    if message is None or message.get("type") != "message":
                        continue
                    try:
                        deliver(_unpack(message["data"]))
                    except Exception:
                        log.exception("bad frame on %s", self.channel)
            except (RedisError, OSError) as exc:
                raise_if_cancelled()
                log.warning("redis subscription lost (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
