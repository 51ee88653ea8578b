"""The webhook worker: matches committed events with endpoints, then delivers them.

Runs in every API process (and `mechamental worker`); any number may run at once. Each
round dispatches pending events (`deliveries.dispatch`) and claims due deliveries, in one
transaction,
up to the free slots of the shared pool (`WEBHOOK_CONCURRENCY`), at most
`WEBHOOK_ENDPOINT_CONCURRENCY` in flight per endpoint, so a slow or dead endpoint holds
only its own slots. An attempt is bounded by `WEBHOOK_TIMEOUT_SECONDS`, well inside the
lease (`WEBHOOK_LEASE_SECONDS`), so no lease renewal is needed: a lease outlives its
attempt unless the process dies, and then the delivery is due again when it expires.
Outcomes are written in batches (`webhooks.outcomes`). Time (due, leases, five days
failing) is `Services.clock`, which tests move forward.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque

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
from mechamental.webhooks.outcomes import Outcome, OutcomeRecorder

log = logging.getLogger("mechamental.webhooks")
EXTRAS_KEY = "webhook_worker"
STOP_GRACE = 10.0  # seconds a round in progress may take to end at shutdown
DISPATCH_BATCH = 500  # events matched per transaction
RECORD_WINDOW = 0.01  # seconds outcomes wait to be written together (webhooks.outcomes)


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
        self._waiting: dict[str, deque[tuple[Claimed, Target | None]]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: sender.Client | None = None
        self._failing = False
        self._stopping = False
        self._recorder = OutcomeRecorder(db, window=RECORD_WINDOW)

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
        await self._recorder.drain()  # attempts that ended are recorded, not repeated
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
        """Dispatch every pending event and start due deliveries; how many were started.

        One transaction per batch does both (a dispatch's deliveries are due at once), and
        claims run between dispatch batches: a backlog of events (a worker that was down)
        never holds back the retries and tests already due.
        """
        started = 0
        while True:
            now = self.clock.utcnow()
            free = self.concurrency - sum(self._inflight.values()) - self._waiting_count()
            async with self.db.reader() as conn:
                pending = await deliveries.any_pending(conn)
                due = free > 0 and await deliveries.any_due(conn, now=now)
            if not pending and not due:
                return started
            matched = 0
            claimed: list[Claimed] = []
            async with self.db.transaction() as conn:
                if pending:
                    matched, _ = await deliveries.dispatch(conn, now=now, limit=DISPATCH_BATCH)
                if free > 0:
                    claimed = await deliveries.claim(
                        conn,
                        token=f"{self.id}:{time.monotonic_ns()}",
                        now=now,
                        lease_seconds=self.settings.webhook_lease_seconds,
                        limit=free,
                        per_endpoint=self.per_endpoint,
                        busy=[w for w in self._inflight if not self._has_room(w)],
                        held=list(self._held),
                    )
            started += await self._start_all(claimed)
            if matched < DISPATCH_BATCH:
                return started

    def _has_room(self, webhook_id: str) -> bool:
        return self._inflight[webhook_id] < self.per_endpoint and not self._waiting.get(webhook_id)

    def _waiting_count(self) -> int:
        return sum(len(queue) for queue in self._waiting.values())

    async def _start_all(self, claimed: list[Claimed]) -> int:
        """Start what we claimed; an endpoint's deliveries beyond its free slots wait here
        for one (at most `per_endpoint` of them, so each starts within one attempt's
        timeout, well inside its lease) rather than being given back in another write."""
        if not claimed:
            return 0
        # Now, not the round's start: which secrets sign (a rotated one for 24 h) is decided
        # when the attempt starts; a round begun before the clock moved signed with both.
        now = self.clock.utcnow()
        async with self.db.reader() as conn:
            found = await endpoints.targets(
                conn, ids=sorted({d.webhook_id for d in claimed}), box=self.box, now=now
            )
        for delivery in claimed:
            self._held[delivery.id] = delivery
            target = found.get(delivery.webhook_id)
            if self._has_room(delivery.webhook_id):
                self._start(delivery, target)
            else:
                self._waiting.setdefault(delivery.webhook_id, deque()).append((delivery, target))
        return len(claimed)

    def _start(self, delivery: Claimed, target: Target | None) -> None:
        self._inflight[delivery.webhook_id] += 1
        task = asyncio.create_task(self._deliver(delivery, target))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, delivery: Claimed, target: Target | None) -> None:
        outcome: Outcome | None = None
        try:
            if target is None or (
                not target.enabled and delivery.event_type != deliveries.TEST_EVENT
            ):
                why = "the endpoint was deleted" if target is None else "the endpoint is disabled"
                outcome = Outcome(delivery, None, why, self.clock.utcnow())
            else:
                result = await self._attempt(delivery, target)
                outcome = Outcome(delivery, result, None, self.clock.utcnow())
        except Exception:
            raise_if_cancelled()  # cancelled (stop): still held, so given back
            log.exception("webhook delivery %s failed; its lease will expire", delivery.id)
            self._held.pop(delivery.id, None)
            return
        finally:
            # The slot bounds requests to the endpoint, not writes: it is free once the
            # answer is in, while the outcome waits for its batch. Freed only after the
            # write, one endpoint's rate was capped at its slots / (attempt + the batch
            # window + the write + a claim): 146/s with 8 slots, measured.
            self._free_slot(delivery.webhook_id)
        try:
            await self._recorder.record(outcome)
        except Exception:
            raise_if_cancelled()
            log.exception(
                "webhook delivery %s failed to record; its lease will expire", delivery.id
            )
        finally:
            self._held.pop(delivery.id, None)

    def _free_slot(self, webhook_id: str) -> None:
        """An attempt ended: the endpoint's next waiting delivery starts, or a round runs."""
        self._inflight[webhook_id] -= 1
        if self._inflight[webhook_id] <= 0:
            del self._inflight[webhook_id]
        queue = self._waiting.get(webhook_id)
        if self._stopping:
            pass  # waiting deliveries are given back instead
        elif queue:  # the slot goes to the endpoint's next one: nothing to claim
            self._start(*queue.popleft())
            if not queue:
                del self._waiting[webhook_id]
        else:
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
