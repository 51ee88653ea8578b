"""The webhook worker: matches committed events with endpoints, then delivers them.

Runs in every API process (and `mechamental worker`); any number may run at once. Each
round first dispatches pending events (`deliveries.dispatch`), then claims due deliveries
up to the free slots of the shared pool (`WEBHOOK_CONCURRENCY`), at most
`WEBHOOK_ENDPOINT_CONCURRENCY` in flight per endpoint, so a slow or dead endpoint holds
only its own slots. An attempt is bounded by `WEBHOOK_TIMEOUT_SECONDS`, well inside the
lease (`WEBHOOK_LEASE_SECONDS`), so no lease renewal is needed: a lease outlives its
attempt unless the process dies, and then the delivery is due again when it expires.
Time (due, leases, five days failing) is `Services.clock`, which tests move forward.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from datetime import timedelta

import httpx

from mechamental.buckets.worker import worker_id
from mechamental.clock import Clock, raise_if_cancelled
from mechamental.config import Settings
from mechamental.db import Database
from mechamental.sealing import SecretBox
from mechamental.services import Component, Services
from mechamental.sync.events.outbox import EVENT_RECORDED
from mechamental.webhooks import deliveries, endpoints, sender, signing
from mechamental.webhooks.deliveries import Claimed
from mechamental.webhooks.endpoints import Target

log = logging.getLogger("mechamental.webhooks")
EXTRAS_KEY = "webhook_worker"
STOP_GRACE = 10.0  # seconds a round in progress may take to end at shutdown


class WebhookWorker(Component):
    """Dispatches and delivers webhooks for this process."""

    name = "webhook worker"

    def __init__(self, *, db: Database, settings: Settings, clock: Clock, box: SecretBox) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.box = box
        self.id = worker_id()
        self.concurrency = settings.webhook_concurrency
        self.per_endpoint = settings.webhook_endpoint_concurrency
        self._inflight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: dict[str, Claimed] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._failing = False
        self._stopping = False

    async def start(self) -> None:
        """Begin the rounds; wake on every commit of this process that recorded an event."""
        self._client = sender.make_client(
            allow_private=self.settings.webhook_allow_private,
            max_connections=self.concurrency,
            timeout=self.settings.webhook_timeout_seconds,
        )
        self.db.listeners.add(EVENT_RECORDED, self.wake)
        self.db.listeners.add(deliveries.DELIVERY_QUEUED, self.wake)
        self._task = asyncio.create_task(self._loop(), name="webhook-worker")

    def wake(self, _: object = None) -> None:
        """Run a round now rather than at the next poll."""
        self._wake.set()

    async def stop(self) -> None:
        """Cancel attempts in flight and give their deliveries back; close the pool."""
        self.db.listeners.remove(EVENT_RECORDED, self.wake)
        self.db.listeners.remove(deliveries.DELIVERY_QUEUED, self.wake)
        if self._task is not None:
            # Let a round in progress end on its own: cancelling asyncpg while it closes a
            # connection hung the stop (seen once in 17 runs of the slow-endpoint test).
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_GRACE)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._held:
            try:
                async with self.db.transaction() as conn:
                    await deliveries.release(
                        conn, claimed=list(self._held.values()), now=self.clock.utcnow()
                    )
            except Exception as exc:  # their leases expire instead
                log.warning("could not give back webhook deliveries (%s)", exc)
        if self._client is not None:
            await self._client.aclose()

    async def _loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_seconds)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.run_round()
                if self._failing:
                    log.info("webhook delivery works again")
                self._failing = False
            except Exception as exc:
                raise_if_cancelled()
                if not self._failing:
                    log.warning("webhook round failed (%s); trying again", exc)
                self._failing = True

    async def run_round(self) -> int:
        """Dispatch pending events, then start due deliveries; how many were started."""
        while True:
            async with self.db.reader() as conn:
                if not await deliveries.any_pending(conn):
                    break
            async with self.db.transaction() as conn:
                matched, _ = await deliveries.dispatch(conn, now=self.clock.utcnow())
            if matched < 500:
                break
        return await self._claim()

    async def _claim(self) -> int:
        free = self.concurrency - sum(self._inflight.values())
        if free <= 0:
            return 0
        now = self.clock.utcnow()
        async with self.db.reader() as conn:
            if not await deliveries.any_due(conn, now=now):
                return 0
        busy = [w for w, n in self._inflight.items() if n >= self.per_endpoint]
        async with self.db.transaction() as conn:
            claimed = await deliveries.claim(
                conn,
                token=f"{self.id}:{time.monotonic_ns()}",
                now=now,
                lease_seconds=self.settings.webhook_lease_seconds,
                limit=free,
                per_endpoint=self.per_endpoint,
                busy=busy,
            )
        # An endpoint already partly busy here may have got more than its free slots: give
        # the excess back at once (not counted), so no endpoint ever has more in flight.
        room = {w: self.per_endpoint - self._inflight[w] for w in {d.webhook_id for d in claimed}}
        excess = []
        for delivery in claimed:
            room[delivery.webhook_id] -= 1
            if room[delivery.webhook_id] < 0:
                excess.append(delivery)
        if excess:
            async with self.db.transaction() as conn:
                await deliveries.release(conn, claimed=excess, now=now)
            claimed = [d for d in claimed if d not in excess]
        if not claimed:
            return 0
        async with self.db.reader() as conn:
            found = await endpoints.targets(
                conn, ids=sorted({d.webhook_id for d in claimed}), box=self.box, now=now
            )
        for delivery in claimed:
            self._held[delivery.id] = delivery
            self._inflight[delivery.webhook_id] += 1
            task = asyncio.create_task(self._deliver(delivery, found.get(delivery.webhook_id)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    async def _deliver(self, delivery: Claimed, target: Target | None) -> None:
        try:
            if target is None or (
                not target.enabled and delivery.event_type != deliveries.TEST_EVENT
            ):
                why = "the endpoint was deleted" if target is None else "the endpoint is disabled"
                await self._record(delivery, None, why)
                return
            result = await self._attempt(delivery, target)
            await self._record(delivery, result, None)
        except Exception:
            raise_if_cancelled()
            log.exception(
                "webhook delivery %s failed to record; its lease will expire", delivery.id
            )
        finally:
            self._held.pop(delivery.id, None)
            self._inflight[delivery.webhook_id] -= 1
            if self._inflight[delivery.webhook_id] <= 0:
                del self._inflight[delivery.webhook_id]
            self._wake.set()

    async def _attempt(self, delivery: Claimed, target: Target) -> sender.Result:
        assert self._client is not None
        timestamp = int(time.time())  # real time: receivers check it against their clocks
        signatures = " ".join(
            signing.sign(
                s, message_id=delivery.message_id, timestamp=timestamp, body=delivery.payload
            )
            for s in target.secrets
        )
        headers = {
            "content-type": "application/json",
            "webhook-id": delivery.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signatures,
        }
        return await sender.post(
            self._client,
            target.url,
            delivery.payload,
            headers,
            deadline=self.settings.webhook_timeout_seconds,
        )

    async def _record(
        self, delivery: Claimed, result: sender.Result | None, skipped: str | None
    ) -> None:
        now = self.clock.utcnow()
        async with self.db.transaction() as conn:
            if result is None:
                await deliveries.finish(
                    conn,
                    delivery=delivery,
                    status=deliveries.FAILED,
                    due=None,
                    error=skipped,
                    now=now,
                )
                return
            gone = result.status_code == 410
            final = result.ok or gone or delivery.attempts >= deliveries.MAX_ATTEMPTS
            if result.ok:
                status, due = deliveries.SUCCEEDED, None
            elif final:
                status, due = deliveries.FAILED, None
            else:
                status = deliveries.PENDING
                delay = deliveries.RETRY_DELAYS[delivery.attempts - 1]
                due = now + timedelta(seconds=delay)
            if not await deliveries.finish(
                conn, delivery=delivery, status=status, due=due, error=result.error, now=now
            ):
                return  # our lease was taken over: the new holder records its own attempt
            await deliveries.record_attempt(
                conn,
                delivery_id=delivery.id,
                at=now,
                status_code=result.status_code,
                duration_ms=result.duration_ms,
                error=result.error,
            )
            if delivery.event_type == deliveries.TEST_EVENT:
                return  # a test says nothing about the endpoint's health
            if result.ok:
                await endpoints.note_success(conn, webhook_id=delivery.webhook_id)
                return
            reason = await endpoints.note_failure(
                conn, webhook_id=delivery.webhook_id, now=now, gone=gone
            )
        if reason:
            log.warning(
                "webhook endpoint disabled",
                extra={"webhook_id": delivery.webhook_id, "reason": reason},
            )


def webhook_worker_factory(services: Services) -> Component | None:
    """The webhook worker of an API process, unless `RUN_WORKER` is off."""
    if not services.settings.run_worker:
        return None
    worker = WebhookWorker(
        db=services.db,
        settings=services.settings,
        clock=services.clock,
        box=services.webhook_secrets,
    )
    services.extras[EXTRAS_KEY] = worker
    return worker
