"""Delivery through real receivers: every event type, filters, signatures, retries on a
controllable clock, 410 and five failing days, rotation, tests and manual retries."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from mechamental.webhooks.deliveries import RETRY_DELAYS
from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.conftest import new_workspace, presence, rename
from tests.webhooks.conftest import Receiver, create_webhook, deliveries, worker_of

LOGGED = {
    "workspace.created",
    "workspace.updated",
    "workspace.deleted",
    "workspace.bucket_status_changed",
    "presence.joined",
    "presence.viewing",
    "presence.left",
}


async def test_every_event_type_reaches_the_endpoints_that_take_it(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, receivers: Any
) -> None:
    everything, presence_only, some, theirs = [await receivers() for _ in range(4)]
    all_hook = await create_webhook(client, tenant, everything)
    await create_webhook(client, tenant, presence_only, event_types=["presence.*"])
    await create_webhook(
        client, tenant, some, event_types=["workspace.created", "workspace.deleted"]
    )
    await create_webhook(client, other_tenant, theirs)
    ws = await new_workspace(client, tenant)
    await rename(client, tenant, ws, "renamed")
    await presence(client, tenant, ws, "join", "member")
    await presence(client, tenant, ws, "viewing", "member", resource_type="doc", resource_id="1")
    await presence(client, tenant, ws, "leave", "member")
    await eventually(
        lambda: _async(everything.types()), lambda t: "workspace.bucket_status_changed" in t
    )
    response = await client.delete(f"{tenant.base}/{ws}", headers=tenant.headers())
    assert response.status_code == 200, response.text
    test = await client.post(
        f"/v1/orgs/{tenant.org_id}/webhooks/{all_hook['id']}/test", headers=tenant.headers()
    )
    assert test.status_code == 202, test.text
    await eventually(
        lambda: _async(set(everything.types())), lambda t: t >= LOGGED | {"webhook.test"}
    )
    await eventually(lambda: _async(some.types()), lambda t: len(t) == 2)
    await eventually(lambda: _async(presence_only.types()), lambda t: len(t) == 3)
    # Every request verified with standardwebhooks; the body is the event as streamed.
    assert all(r.verified is not None for r in everything.requests)
    created = next(r for r in everything.requests if r.verified["type"] == "workspace.created")
    body = created.verified
    assert set(body) == {"id", "type", "org_id", "workspace_id", "actor_id", "occurred_at", "data"}
    assert body["org_id"] == tenant.org_id and body["workspace_id"] == ws
    assert created.headers["webhook-signature"].startswith("v1,")
    # Deliveries to one endpoint run side by side: they arrive in any order (the body's
    # `occurred_at` and `id` order them), so the types are compared as sets.
    assert sorted(some.types()) == ["workspace.created", "workspace.deleted"]
    assert sorted(presence_only.types()) == ["presence.joined", "presence.left", "presence.viewing"]
    assert len(set(everything.ok_ids())) == len(everything.ok_ids())
    assert theirs.requests == []  # nothing crosses orgs
    # The receiver answers before the worker records the outcome: wait for the records.
    listed = await eventually(
        lambda: deliveries(client, tenant, all_hook["id"]),
        lambda ds: {d["status"] for d in ds} == {"succeeded"},
    )
    assert all(len(d["attempts"]) == 1 and d["attempts"][0]["status_code"] == 200 for d in listed)
    stamps = [d["created_at"] for d in listed]
    assert stamps == sorted(stamps, reverse=True)  # newest first


async def _async(value: Any) -> Any:
    return value


async def test_a_receiver_down_for_a_while_gets_everything_once(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, receivers: Any
) -> None:
    receiver: Receiver = await receivers()
    up = False
    receiver.respond = lambda _r: 200 if up else 503
    hook = await create_webhook(client, tenant, receiver, event_types=["workspace.updated"])
    ws = await new_workspace(client, tenant)
    for n in range(3):
        await rename(client, tenant, ws, f"name {n}")
    await eventually(
        lambda: deliveries(client, tenant, hook["id"]),
        lambda ds: len(ds) == 3 and all(len(d["attempts"]) == 1 for d in ds),
    )
    failed_ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(failed_ids) == 3
    up = True
    app.state.services.clock.advance(RETRY_DELAYS[0])
    worker_of(app).wake()
    await eventually(
        lambda: deliveries(client, tenant, hook["id"]),
        lambda ds: all(d["status"] == "succeeded" for d in ds),
    )
    assert sorted(receiver.ok_ids()[3:]) == sorted(failed_ids)
    # Later rounds send nothing more.
    app.state.services.clock.advance(86400)
    await worker_of(app).run_round()
    assert len(receiver.requests) == 6


async def test_retry_schedule_then_failed(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, receivers: Any
) -> None:
    receiver: Receiver = await receivers()
    receiver.respond = lambda _r: 500
    hook = await create_webhook(client, tenant, None, url=receiver.url)
    test = await client.post(
        f"/v1/orgs/{tenant.org_id}/webhooks/{hook['id']}/test", headers=tenant.headers()
    )
    assert test.status_code == 202
    clock = app.state.services.clock
    for n, delay in enumerate(RETRY_DELAYS, start=1):
        ds = await eventually(
            lambda: deliveries(client, tenant, hook["id"]),
            lambda ds, n=n: len(ds[0]["attempts"]) == n and ds[0]["status"] == "pending",
        )
        due = ds[0]["next_attempt_at"]
        last = ds[0]["attempts"][-1]["attempted_at"]
        from tests.helpers import parse_utc

        assert parse_utc(due) - parse_utc(last) == timedelta(seconds=delay)
        clock.advance(delay - 1)
        await worker_of(app).run_round()
        assert len(receiver.requests) == n  # not due yet
        clock.advance(1)
        worker_of(app).wake()
    ds = await eventually(
        lambda: deliveries(client, tenant, hook["id"]), lambda ds: ds[0]["status"] == "failed"
    )
    assert len(ds[0]["attempts"]) == len(RETRY_DELAYS) + 1 == len(receiver.requests)
    assert ds[0]["attempts"][0]["status_code"] == 500 and ds[0]["next_attempt_at"] is None
    # A manual retry sends it again, with a fresh schedule.
    receiver.respond = lambda _r: 204
    retried = await client.post(
        f"/v1/orgs/{tenant.org_id}/webhooks/{hook['id']}/deliveries/{ds[0]['id']}/retry",
        headers=tenant.headers(),
    )
    assert retried.status_code == 202, retried.text
    await eventually(
        lambda: deliveries(client, tenant, hook["id"]), lambda ds: ds[0]["status"] == "succeeded"
    )
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


async def test_410_disables_the_endpoint(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, receivers: Any
) -> None:
    receiver: Receiver = await receivers()
    receiver.respond = lambda _r: 410
    hook = await create_webhook(client, tenant, receiver, event_types=["workspace.created"])
    await new_workspace(client, tenant)
    url = f"/v1/orgs/{tenant.org_id}/webhooks/{hook['id']}"
    got = await eventually(lambda: _get(client, tenant, url), lambda w: not w["enabled"])
    assert got["disabled_reason"] == "the endpoint answered 410 Gone"
    assert (await deliveries(client, tenant, hook["id"]))[0]["status"] == "failed"
    await new_workspace(client, tenant)
    await worker_of(app).run_round()
    assert len(receiver.requests) == 1  # nothing goes to a disabled endpoint
    # Enabling it again clears the reason.
    put = await client.put(url, json={"url": receiver.url}, headers=tenant.headers())
    assert put.json()["enabled"] and put.json()["disabled_reason"] is None


async def _get(client: httpx.AsyncClient, tenant: Tenant, url: str) -> dict[str, Any]:
    response = await client.get(url, headers=tenant.headers())
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found


async def test_five_days_of_failures_disable_the_endpoint(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, receivers: Any
) -> None:
    receiver: Receiver = await receivers()
    receiver.respond = lambda _r: 500
    hook = await create_webhook(
        client, tenant, receiver, event_types=["workspace.created", "workspace.updated"]
    )
    ws = await new_workspace(client, tenant)
    url = f"/v1/orgs/{tenant.org_id}/webhooks/{hook['id']}"
    # The failure recorded (not only received): its time starts the failing run, and an
    # outcome written after the clock moved would start it four days late.
    await eventually(
        lambda: deliveries(client, tenant, hook["id"]),
        lambda ds: bool(ds and ds[0]["attempts"]),
    )
    clock = app.state.services.clock
    clock.advance(4 * 86400)
    await rename(client, tenant, ws, "four days later")
    await eventually(lambda: _async(len(receiver.requests)), lambda n: n >= 2)
    assert (await _get(client, tenant, url))["enabled"]
    clock.advance(86400)
    await rename(client, tenant, ws, "five days later")
    got = await eventually(lambda: _get(client, tenant, url), lambda w: not w["enabled"])
    assert got["disabled_reason"] == "every attempt failed for 5 days"


async def test_a_2xx_ends_the_failing_run(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, receivers: Any
) -> None:
    receiver: Receiver = await receivers()
    fail = True
    receiver.respond = lambda _r: 500 if fail else 200
    hook = await create_webhook(
        client, tenant, receiver, event_types=["workspace.created", "workspace.updated"]
    )
    ws = await new_workspace(client, tenant)
    await eventually(lambda: _async(len(receiver.requests)), lambda n: n == 1)
    fail = False
    clock = app.state.services.clock
    clock.advance(4 * 86400)
    await rename(client, tenant, ws, "ok now")
    await eventually(lambda: _async(len(receiver.ok_ids())), lambda n: n >= 2)
    fail = True
    clock.advance(2 * 86400)
    await rename(client, tenant, ws, "failing again")
    await eventually(
        lambda: deliveries(client, tenant, hook["id"]),
        lambda ds: ds[0]["attempts"] and ds[0]["attempts"][-1]["status_code"] == 500,
    )
    got = await _get(client, tenant, f"/v1/orgs/{tenant.org_id}/webhooks/{hook['id']}")
    assert got["enabled"]  # failing for 2 days only since the last 2xx


async def test_secret_rotation_signs_with_both_for_a_day(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, receivers: Any
) -> None:
    old: Receiver = await receivers()
    new: Receiver = await receivers()
    hook = await create_webhook(client, tenant, old, event_types=["workspace.created"])
    url = f"/v1/orgs/{tenant.org_id}/webhooks/{hook['id']}"
    rotated = await client.post(f"{url}/rotate-secret", headers=tenant.headers())
    assert rotated.status_code == 200, rotated.text
    secret = rotated.json()["secret"]
    assert secret.startswith("whsec_") and secret != hook["secret"]
    new.secrets.append(secret)
    await new_workspace(client, tenant)
    await eventually(lambda: _async(len(old.requests)), lambda n: n == 1)
    request = old.requests[0]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert request.verified is not None  # the old secret still verifies
    assert new.verify(request.body, request.headers) is not None  # and so does the new one
    app.state.services.clock.advance(24 * 3600 + 1)
    await new_workspace(client, tenant)
    await eventually(lambda: _async(len(old.requests)), lambda n: n == 2)
    late = old.requests[1]
    assert len(late.headers["webhook-signature"].split(" ")) == 1
    assert old.verify(late.body, late.headers) is None
    assert new.verify(late.body, late.headers) is not None


async def test_a_slow_endpoint_does_not_delay_a_fast_one(
    app: FastAPI, client: httpx.AsyncClient, tenant: Tenant, receivers: Any
) -> None:
    slow: Receiver = await receivers()
    fast: Receiver = await receivers()
    release = asyncio.Event()

    async def hold(_r: Any) -> int:
        await release.wait()
        return 200

    slow.respond = hold
    await create_webhook(client, tenant, slow, event_types=["workspace.updated"])
    await create_webhook(client, tenant, fast, event_types=["workspace.updated"])
    ws = await new_workspace(client, tenant)
    for n in range(12):
        await rename(client, tenant, ws, f"n{n}")
    # All 12 reach the fast endpoint while the slow one holds every request it got.
    await eventually(lambda: _async(len(fast.ok_ids())), lambda n: n == 12)
    per_endpoint = app.state.services.settings.webhook_endpoint_concurrency
    assert len(slow.requests) <= per_endpoint and not release.is_set()
    release.set()
    await eventually(lambda: _async(len(slow.ok_ids())), lambda n: n == 12, within=30)


async def test_a_backlogged_endpoint_does_not_hold_back_a_fresh_one(
    app: FastAPI,
    client: httpx.AsyncClient,
    tenant: Tenant,
    other_tenant: Tenant,
    receivers: Any,
) -> None:
    """200 of one endpoint's deliveries fall due at once with the single one of another
    org's endpoint, which is the newest: that one goes out with the first claims, not after
    the backlog (oldest first would send it last)."""
    backlog = 200
    backlogged: Receiver = await receivers()
    fresh: Receiver = await receivers()
    up = False
    answered: list[int] = []  # the backlog's 2xx answers so far
    backlog_answered_at_fresh: list[int] = []

    def backlogged_answer(_r: Any) -> int:
        if up:
            answered.append(1)
        return 200 if up else 503

    def fresh_answer(_r: Any) -> int:
        if up:
            backlog_answered_at_fresh.append(len(answered))
        return 200 if up else 503

    backlogged.respond = backlogged_answer
    fresh.respond = fresh_answer
    await create_webhook(client, tenant, backlogged, event_types=["workspace.updated"])
    ws = await new_workspace(client, tenant)
    for n in range(backlog):
        await rename(client, tenant, ws, f"n{n}")
    await create_webhook(client, other_tenant, fresh, event_types=["workspace.updated"])
    theirs = await new_workspace(client, other_tenant)
    await rename(client, other_tenant, theirs, "fresh")
    # Every first attempt failed: all 201 wait for their retry, 5 s later, the fresh last.
    await eventually(lambda: _async(len(backlogged.requests)), lambda n: n == backlog)
    await eventually(lambda: _async(len(fresh.requests)), lambda n: n == 1)
    up = True
    app.state.services.clock.advance(RETRY_DELAYS[0])
    worker_of(app).wake()
    await eventually(lambda: _async(len(backlog_answered_at_fresh)), lambda n: n == 1)
    await eventually(lambda: _async(len(answered)), lambda n: n == backlog, within=60)
    assert len(fresh.requests) == 2 and len(backlogged.requests) == 2 * backlog
    per_endpoint = app.state.services.settings.webhook_endpoint_concurrency
    # When the fresh delivery arrived, the backlog had had about one claim's worth of turns.
    assert backlog_answered_at_fresh[0] <= 4 * per_endpoint < backlog // 2
