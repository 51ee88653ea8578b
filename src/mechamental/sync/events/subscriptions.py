"""One Redis subscription connection and the workspace channels it listens to.

A `Shard` is one pub/sub connection: to the single Redis node, or to one master of a
Cluster (sharded pub/sub: `SSUBSCRIBE` must go to the master that owns the channel's
slot). It is told which workspaces are wanted and sends `SUBSCRIBE`/`UNSUBSCRIBE` for the
difference, several channels per command. Each confirmation from Redis is reported
(`on_subscribed`), because only from then on does Redis send us that workspace's frames:
whatever was committed before is read from the log by the hub.

Its connection never retries or reconnects underneath a read (redis-py's `PubSub` takes no
lock for reads, so a reconnect from a concurrent send could lose a reply): any error ends
`run`, and the bus starts a fresh shard, which subscribes again and so reports again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from mechamental import metrics
from mechamental.clock import raise_if_cancelled

log = logging.getLogger("mechamental.sync.events.subscriptions")
CHANNELS_PER_COMMAND = 500
MESSAGE = frozenset({"message", "smessage"})
SUBSCRIBED = frozenset({"subscribe", "ssubscribe"})
UNSUBSCRIBED = frozenset({"unsubscribe", "sunsubscribe"})


class Shard:
    """One pub/sub connection and the channels sent on it."""

    def __init__(
        self,
        client: Redis,
        *,
        sharded: bool,
        on_message: Callable[[bytes, bytes], None],
        on_subscribed: Callable[[bytes], None],
        on_unsubscribed: Callable[[bytes, bool], None],
    ) -> None:
        self.client = client
        self.sharded = sharded
        self.pubsub: PubSub = client.pubsub(ignore_subscribe_messages=False)
        self.sent: set[bytes] = set()  # subscribed or asked to be, not asked to leave since
        self.confirmed: set[bytes] = set()  # Redis said so
        self._leaving: set[bytes] = set()  # asked to leave, not confirmed yet
        self._on_message = on_message
        self._on_subscribed = on_subscribed
        self._on_unsubscribed = on_unsubscribed
        self._commands = asyncio.Lock()
        self.failed = False
        self.closed = False

    async def subscribe(self, channels: Iterable[bytes]) -> None:
        """Ask for these channels (those not asked for already)."""
        new = [c for c in channels if c not in self.sent]
        if not new:
            return
        self.sent.update(new)
        async with self._commands:
            if self.sharded:  # one channel per command: several would have to share a slot
                for channel in new:  # (a send each, no round trip)
                    await self.pubsub.ssubscribe(channel)
                return
            for i in range(0, len(new), CHANNELS_PER_COMMAND):
                await self.pubsub.subscribe(*new[i : i + CHANNELS_PER_COMMAND])

    async def unsubscribe(self, channels: Iterable[bytes]) -> None:
        """Leave these channels (those asked for)."""
        old = [c for c in channels if c in self.sent]
        if not old:
            return
        self.sent.difference_update(old)
        self._leaving.update(old)
        async with self._commands:
            if self.sharded:
                for channel in old:
                    await self.pubsub.sunsubscribe(channel)
                return
            for i in range(0, len(old), CHANNELS_PER_COMMAND):
                await self.pubsub.unsubscribe(*old[i : i + CHANNELS_PER_COMMAND])

    async def connect(self) -> None:
        """Open the connection (before anything is sent or read on it)."""
        await self.pubsub.connect()  # type: ignore[no-untyped-call]

    async def run(self) -> None:
        """Read until the connection fails (then raise): frames and confirmations."""
        try:
            while not self.closed:
                message = await self.pubsub.get_message(timeout=30.0)
                # redis-py may swallow a cancellation in a read: never loop on after one.
                raise_if_cancelled()
                if message is not None:
                    self._handle(message)
        except BaseException:
            self.failed = True
            raise

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        if not isinstance(channel, bytes):
            return
        if kind in MESSAGE:
            self._on_message(channel, message["data"])
        elif kind in SUBSCRIBED:
            if channel in self.sent:
                if channel not in self.confirmed:
                    self.confirmed.add(channel)
                    metrics.bus_channels(1)
                self._on_subscribed(channel)
        elif kind in UNSUBSCRIBED:
            if channel in self.confirmed:
                self.confirmed.discard(channel)
                metrics.bus_channels(-1)
            asked = channel in self._leaving
            self._leaving.discard(channel)
            if not asked:
                # Redis dropped it (its slot moved to another master): ask again elsewhere.
                self.sent.discard(channel)
            self._on_unsubscribed(channel, asked)

    async def close(self) -> None:
        """Drop the connection (nothing is sent)."""
        self.closed = True
        metrics.bus_channels(-len(self.confirmed))
        self.confirmed.clear()
        with contextlib.suppress(RedisError, OSError):
            await self.pubsub.aclose()
        with contextlib.suppress(RedisError, OSError):
            await self.client.aclose()
