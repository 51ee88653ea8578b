"""Limits across real `mechamental serve` processes sharing one Redis: one bucket for both,
stream caps counted across them, a SIGKILLed process's streams released when its lease
ends, and clients resuming after that crash admitted before then."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx
import pytest

from tests.conftest import Tenant
from tests.helpers import eventually
from tests.limits.conftest import ROOMY
from tests.sync.procs import FAST, ServerProcess, create_ws, launch, server_env
from tests.sync.sse import Stream, open_stream, read_error

pytestmark = pytest.mark.timeout(900)


def limits_env(**settings: str) -> dict[str, str]:
    """Limits on, roomy buckets unless given."""
    env = {f"MECHAMENTAL_RATE_LIMIT_{name.upper()}": str(v) for name, v in ROOMY.items()}
    env["MECHAMENTAL_RATE_LIMITS"] = "true"
    env.update({f"MECHAMENTAL_{name.upper()}": value for name, value in settings.items()})
    return env


async def open_on(
    proc: ServerProcess, tenant: Tenant, ws: str, role: str, last_event_id: str | None = None
) -> Stream:
    """Open a stream on one process (any status)."""
    headers = {"Authorization": f"Bearer {tenant.tokens[role]}"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    return await open_stream(proc.port, f"{tenant.base}/{ws}/sync/stream", headers)


async def admitted(stream: Stream) -> Stream:
    """A 200 stream past its `sync.connected`."""
    assert stream.status == 200, stream.status
    assert (await stream.next()).event == "sync.connected"
    return stream


async def refused_scope(stream: Stream) -> str:
    """The scope of a 429 `TOO_MANY_STREAMS`."""
    body = await read_error(stream)
    assert stream.status == 429, body
    assert body["error"] == "TOO_MANY_STREAMS", body
    scope: str = body["details"]["scope"]
    return scope


async def test_one_bucket_across_two_processes(
    tenant_db: Tenant,
    database_url: str,
    redis_url: str,
    prefix: str,
    procs: list[ServerProcess],
    tmp_path: Path,
) -> None:
    extra = limits_env(
        rate_limit_rest_credential_burst="5", rate_limit_rest_credential_rate="0.001"
    )
    env = server_env(
        database_url=database_url, data_dir=tmp_path, redis_url=redis_url, prefix=prefix, **extra
    )
    a = await launch(procs, env, tmp_path)
    b = await launch(procs, env, tmp_path)
    tenant = tenant_db
    statuses = []
    async with httpx.AsyncClient(timeout=20) as client:
        for i in range(10):
            proc = (a, b)[i % 2]
            response = await client.get(f"{proc.url}{tenant.base}", headers=tenant.headers())
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.json()["details"]["scope"] == "credential"
    assert statuses == [200] * 5 + [429] * 5


async def test_caps_across_processes_and_a_killed_process_does_not_leak(
    tenant_db: Tenant,
    database_url: str,
    redis_url: str,
    prefix: str,
    procs: list[ServerProcess],
    tmp_path: Path,
) -> None:
    extra = {**FAST, **limits_env(max_streams_per_user="2")}  # leases of 1 s
    env = server_env(
        database_url=database_url, data_dir=tmp_path, redis_url=redis_url, prefix=prefix, **extra
    )
    a = await launch(procs, env, tmp_path)
    b = await launch(procs, env, tmp_path)
    tenant = tenant_db
    async with httpx.AsyncClient(timeout=20) as client:
        ws = await create_ws(client, a, tenant)
    on_a = [await admitted(await open_on(a, tenant, ws, "member")) for _ in range(2)]
    assert await refused_scope(await open_on(b, tenant, ws, "member")) == "user"

    a.signal(signal.SIGKILL)
    await a.wait()

    async def fresh_open() -> Stream:
        stream = await open_on(b, tenant, ws, "member")
        if stream.status != 200:
            stream.close()
        return stream

    # A's lease ends; its streams stop counting (and are deleted from Redis).
    first = await eventually(fresh_open, lambda stream: stream.status == 200, within=60)
    held = [await admitted(first), await admitted(await open_on(b, tenant, ws, "member"))]
    assert await refused_scope(await open_on(b, tenant, ws, "member")) == "user"
    for stream in [*on_a, *held]:
        stream.close()


async def test_resuming_clients_are_admitted_before_a_killed_process_lease_ends(
    tenant_db: Tenant,
    database_url: str,
    redis_url: str,
    prefix: str,
    procs: list[ServerProcess],
    tmp_path: Path,
) -> None:
    # A lease far longer than the test: only the resume rule can admit the reconnects.
    extra = {
        **FAST,
        "MECHAMENTAL_SYNC_PROCESS_LEASE_SECONDS": "600",
        **limits_env(max_streams_per_org="3"),
    }
    env = server_env(
        database_url=database_url, data_dir=tmp_path, redis_url=redis_url, prefix=prefix, **extra
    )
    a = await launch(procs, env, tmp_path)
    b = await launch(procs, env, tmp_path)
    tenant = tenant_db
    async with httpx.AsyncClient(timeout=20) as client:
        ws = await create_ws(client, a, tenant)
    roles = ("owner", "member", "viewer")
    on_a = [await open_on(a, tenant, ws, role) for role in roles]
    ids = []
    for stream in on_a:
        assert stream.status == 200
        ids.append((await stream.next()).id)
    assert await refused_scope(await open_on(b, tenant, ws, "admin")) == "org"

    a.signal(signal.SIGKILL)
    await a.wait()
    # A fresh open still counts A's streams (its lease is live for 10 minutes)...
    assert await refused_scope(await open_on(b, tenant, ws, "admin")) == "org"

    # ...but its clients, resuming, are not refused for their own dead streams.
    back: list[Stream] = []
    for role, last in zip(roles, ids, strict=True):

        async def resume(role: str = role, last: str | None = last) -> Stream:
            stream = await open_on(b, tenant, ws, role, last_event_id=last)
            if stream.status != 200:
                stream.close()
            return stream

        back.append(await eventually(resume, lambda stream: stream.status == 200, within=60))
    for stream in back:
        assert (await stream.next()).event == "sync.connected"
    # B now holds the org's 3 streams: a 4th, resuming or not, is over the cap.
    assert await refused_scope(await open_on(b, tenant, ws, "admin", last_event_id=ids[0])) == "org"
    for stream in back:
        stream.close()
