"""Fan-out between processes: nothing when embedded, Redis pub/sub by interest when scaled out.

The event log in the database is the source of truth; the bus only carries frames (at
most once) so other processes need not poll. Each workspace has a channel of its own,
`<prefix>:sync:{<workspace_id>}` (the hash tag puts it in the slot of the workspace's
presence keys), and a process subscribes only to the workspaces it has streams for: cost
follows interest. With one channel for everything, every process decoded every event of
every workspace (at 500 events/s, a process with none of their streams spent ~10 % of a
core on them).

- A stream's channel is wanted while it exists here (`want`/`unwant`, from the registry);
  an unwanted one stays subscribed for `linger` seconds, so streams that reconnect (a
  timeout, a restart of the client) do not make Redis subscribe and unsubscribe each time.
- Only once Redis confirms a subscription does it send us that workspace's frames, so each
  confirmation is reported (`on_subscribed`) and the hub reads the log's head for those
  workspaces: anything committed before is read from the log, never lost. A new stream
  also waits (briefly) for its channel's confirmation before reading where it starts, so
  that the usual case needs no second read.
- On a Redis Cluster, channels are sharded (`SPUBLISH`/`SSUBSCRIBE`, Redis 7): a frame goes
  only to the master owning its slot, and we hold one subscription connection per master
  we have channels on (`subscriptions.Shard`). A master that fails or whose slots move
  makes us subscribe again where the slot is now, and the confirmations trigger the reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, RedisError, SlotNotCoveredError

from mechamental import metrics
from mechamental.clock import raise_if_cancelled
from mechamental.redis_conn import AnyRedis
from mechamental.sync.events.frames import Frame
from mechamental.sync.events.subscriptions import Shard

log = logging.getLogger("mechamental.sync.events.bus")
Deliver = Callable[[Frame], None]
Subscribed = Callable[[list[str]], None]
LINGER_SECONDS = 30.0
READY_WAIT_SECONDS = 1.0  # a new stream waits at most this for its channel's subscription
SINGLE = ""  # the shard name of a single Redis node
STOP_SECONDS = 2.0  # a stopping bus waits at most this for its connections' tasks


class LocalBus:
    """One process: frames go to this process's channels only."""

    remote = False

    async def publish(self, frames: list[Frame]) -> None:
        """Nothing else to tell."""

    def want(self, workspace_id: str) -> None:
        """Nothing to subscribe to."""

    def unwant(self, workspace_id: str) -> None:
        """Nothing to leave."""

    async def ready(self, workspace_id: str) -> None:
        """Always listening (to ourselves)."""

    async def run(self, deliver: Deliver, on_subscribed: Subscribed) -> None:
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
    """Frames published on each workspace's channel; a process listens to those it serves."""

    remote = True

    def __init__(self, redis: AnyRedis, *, prefix: str, linger: float = LINGER_SECONDS) -> None:
        self._redis = redis
        self._cluster: RedisCluster | None = redis if isinstance(redis, RedisCluster) else None
        self._head = f"{prefix}:sync:{{".encode()
        self.linger = linger
        self.wanted: set[str] = set()
        self._idle: dict[str, float] = {}  # unwanted since (monotonic): left after `linger`
        self._waiting: dict[str, asyncio.Future[None]] = {}
        self.shards: dict[str, Shard] = {}
        self._route: dict[str, str] = {}  # workspace -> shard it was asked on
        self._wake = asyncio.Event()
        self._deliver: Deliver = lambda frame: None
        self._on_subscribed: Subscribed = lambda ids: None
        self._confirmed: list[str] = []
        self._fresh: set[str] = set()  # wanted since the last reconcile
        self._moved = False  # slots may have moved: check every wanted channel's shard

    def channel(self, workspace_id: str) -> bytes:
        """The workspace's channel name."""
        return self._head + workspace_id.encode() + b"}"

    def _workspace_of(self, channel: bytes) -> str:
        return channel[len(self._head) : -1].decode()

    # Publishing.
    async def publish(self, frames: list[Frame]) -> None:
        """Publish frames in order, each on its workspace's channel (one round trip)."""
        if self._cluster is not None:
            async with self._cluster.pipeline(transaction=False) as cpipe:
                for frame in frames:
                    cpipe.spublish(self.channel(frame.workspace_id), _pack(frame))
                await cpipe.execute()
            return
        assert isinstance(self._redis, Redis)
        async with self._redis.pipeline(transaction=False) as pipe:
            for frame in frames:
                pipe.publish(self.channel(frame.workspace_id), _pack(frame))
            await pipe.execute()

    # Interest (told by the registry as channels come and go).
    def want(self, workspace_id: str) -> None:
        """This process has a stream of the workspace (being set up or open)."""
        self._idle.pop(workspace_id, None)
        if workspace_id not in self.wanted:
            self.wanted.add(workspace_id)
            self._fresh.add(workspace_id)
            self._wake.set()

    def unwant(self, workspace_id: str) -> None:
        """Its last stream here ended: leave the channel after the linger, unless wanted again."""
        if workspace_id in self.wanted:
            self._idle[workspace_id] = time.monotonic()

    def listening(self, workspace_id: str) -> bool:
        """Whether Redis confirmed our subscription to the workspace's channel."""
        shard = self.shards.get(self._route.get(workspace_id, ""))
        return shard is not None and self.channel(workspace_id) in shard.confirmed

    async def ready(self, workspace_id: str) -> None:
        """Wait (at most `READY_WAIT_SECONDS`) until we are listening to the workspace."""
        if self.listening(workspace_id):
            return
        future = self._waiting.get(workspace_id)
        if future is None:
            future = self._waiting[workspace_id] = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(future), READY_WAIT_SECONDS)

    # Listening.
    async def run(self, deliver: Deliver, on_subscribed: Subscribed) -> None:
        """Keep one subscription per shard for the wanted channels; hand frames to `deliver`."""
        self._deliver = deliver
        self._on_subscribed = on_subscribed
        tasks: dict[str, asyncio.Task[None]] = {}
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=min(self.linger / 3, 5.0))
                self._wake.clear()
                try:
                    await self._reconcile(tasks)
                except Exception as exc:
                    raise_if_cancelled()
                    if not isinstance(exc, (RedisError, RedisClusterException, OSError)):
                        log.exception("updating redis subscriptions failed")  # a bug: keep going
                    else:
                        log.warning("redis subscriptions not updated (%s); retrying", exc)
                    await asyncio.sleep(0.5)
                    self._wake.set()
        finally:
            for task in tasks.values():
                task.cancel()
            if tasks:
                await asyncio.wait(tasks.values(), timeout=STOP_SECONDS)
            for shard in list(self.shards.values()):
                await shard.close()

    async def _reconcile(self, tasks: dict[str, asyncio.Task[None]]) -> None:
        """Leave lingering channels, then ask each shard for the wanted channels it owns."""
        now = time.monotonic()
        leave: dict[str, list[str]] = {}
        for ws in [ws for ws, since in self._idle.items() if now - since >= self.linger]:
            del self._idle[ws]
            self.wanted.discard(ws)
            self._fresh.discard(ws)
            waiting = self._waiting.pop(ws, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)  # nobody waits (no channel), but never leave one hanging
            name = self._route.pop(ws, None)
            if name is not None:
                leave.setdefault(name, []).append(ws)
        check = self.wanted if self._moved else self._fresh
        self._moved = False
        join: dict[str, list[str]] = {}
        for ws in list(check):
            target = await self._shard_of(ws)
            current = self._route.get(ws)
            if current is not None and current != target:  # its slot moved to another master
                leave.setdefault(current, []).append(ws)
                del self._route[ws]
                current = None
            if current is None:
                join.setdefault(target, []).append(ws)
        self._fresh.clear()
        for name, ids in leave.items():
            shard = self.shards.get(name)
            if shard is not None and not shard.failed:
                await shard.unsubscribe(self.channel(ws) for ws in ids)
        for name, ids in join.items():
            shard = self.shards.get(name)
            if shard is None or shard.failed:
                if name not in tasks or tasks[name].done():
                    tasks[name] = asyncio.create_task(self._keep_shard(name))
                continue  # once connected, the shard subscribes to what it owns
            for ws in ids:
                self._route[ws] = name
            await shard.subscribe(self.channel(ws) for ws in ids)

    async def _shard_of(self, workspace_id: str) -> str:
        if self._cluster is None:
            return SINGLE
        key = self.channel(workspace_id).decode()
        try:
            node = self._cluster.get_node_from_key(key)
        except SlotNotCoveredError:
            node = None  # the client has not learnt the slots yet (or they moved)
        if node is None:
            await self._cluster.initialize()
            try:
                node = self._cluster.get_node_from_key(key)
            except SlotNotCoveredError as exc:
                raise RedisError(f"no master serves the slot of {key}") from exc
        if node is None:
            raise RedisError(f"no master serves the slot of {key}")
        return str(node.name)

    async def _keep_shard(self, name: str) -> None:
        """Connect a shard, subscribe its wanted channels, read until it fails; again."""
        delay = 0.2
        while True:
            shard = Shard(
                self._client_for(name),
                sharded=self._cluster is not None,
                on_message=self._message,
                on_subscribed=self._subscribed,
                on_unsubscribed=self._unsubscribed,
            )
            started: float | None = None
            reading: asyncio.Task[None] | None = None
            try:
                await shard.connect()
                self.shards[name] = shard
                reading = asyncio.create_task(shard.run())
                owned = [ws for ws in list(self.wanted) if await self._shard_of(ws) == name]
                for ws in owned:
                    self._route[ws] = name
                await shard.subscribe(self.channel(ws) for ws in owned)
                started = time.monotonic()
                await reading
            except Exception as exc:
                raise_if_cancelled()
                if not isinstance(exc, (RedisError, RedisClusterException, OSError)):
                    log.exception("redis subscription failed")  # a bug: keep going
                else:
                    log.warning("redis subscription lost (%s); retrying in %.1fs", exc, delay)
            finally:
                shard.failed = True
                for ws in [ws for ws, at in self._route.items() if at == name]:
                    del self._route[ws]
                if reading is not None and not reading.done():
                    reading.cancel()  # never left reading on its own (it would outlive us)
                    await asyncio.wait({reading}, timeout=STOP_SECONDS)
                await shard.close()
            if started is not None and time.monotonic() - started > 10:
                delay = 0.2  # it worked for a while: a new failure starts the backoff again
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            if self._cluster is not None:
                with contextlib.suppress(RedisError, RedisClusterException, OSError):
                    await self._cluster.nodes_manager.initialize()  # where the slots are now
                self._moved = True
                self._wake.set()
                try:
                    owners = [await self._shard_of(ws) for ws in list(self.wanted)]
                except (RedisError, RedisClusterException, OSError):
                    continue  # the topology is unknown for now: try this master again
                if name not in owners:
                    return  # this master serves none of our channels any more

    def _client_for(self, name: str) -> Redis:
        # A connection that never reconnects underneath a read: errors end the shard.
        no_retry = Retry(NoBackoff(), 0)
        if self._cluster is None:
            assert isinstance(self._redis, Redis)
            pool = self._redis.connection_pool
            kwargs = {**pool.connection_kwargs, "retry": no_retry}
            return Redis(connection_pool=ConnectionPool(pool.connection_class, **kwargs))
        node = self._cluster.get_node(node_name=name)
        if node is None:
            host, _, port = name.rpartition(":")
            return Redis(host=host, port=int(port), retry=no_retry)
        kwargs = {**node.connection_kwargs, "retry": no_retry, "host": node.host, "port": node.port}
        return Redis(connection_pool=ConnectionPool(node.connection_class, **kwargs))

    def _message(self, channel: bytes, data: bytes) -> None:
        metrics.bus_frame()
        try:
            self._deliver(_unpack(data))
        except Exception:
            log.exception("bad frame on %r", channel)

    def _subscribed(self, channel: bytes) -> None:
        ws = self._workspace_of(channel)
        future = self._waiting.pop(ws, None)
        if future is not None and not future.done():
            future.set_result(None)
        if not self._confirmed:
            asyncio.get_running_loop().call_soon(self._report)
        self._confirmed.append(ws)

    def _report(self) -> None:
        ids, self._confirmed = self._confirmed, []
        self._on_subscribed(ids)

    def _unsubscribed(self, channel: bytes, asked: bool) -> None:
        if not asked:  # Redis moved the slot: subscribe where it is now
            self._route.pop(self._workspace_of(channel), None)
            self._moved = True
            self._wake.set()
