"""Stream caps and stream-open limits through a real server, in memory and on Redis.

A stream over `MAX_STREAMS_PER_USER` / `MAX_STREAMS_PER_ORG` is refused with 429
`TOO_MANY_STREAMS` before it starts; a stream that never opens (404) keeps no slot; a
closed one gives its slot back; a reconnect storm within the stream-open burst is admitted.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI

from mechamental.ratelimit.component import limits_of
from tests.conftest import Tenant
from tests.helpers import eventually
from tests.sync.conftest import Server, new_workspace
from tests.sync.sse import Stream, read_error


async def opened(stream: Stream) -> Stream:
    """The stream answered 200 and sent `sync.connected`."""
    assert stream.status == 200, stream.status
    assert (await stream.next()).event == "sync.connected"
    return stream


async def refusal(stream: Stream) -> dict[str, object]:
    """The 429 envelope of a refused stream."""
    assert stream.status == 429, stream.status
    assert stream.headers["retry-after"]
    body = await read_error(stream)
    assert body["status_code"] == 429
    return body


def counts(app: FastAPI) -> dict[tuple[str, str], int]:
    """This process's open streams per (org, user), as the caps count them."""
    limits = limits_of(app.state.services)
    assert limits is not None
    return dict(limits.streams.user_counts)


@pytest.mark.limits(max_streams_per_user=2)
async def test_user_cap_refuses_before_the_stream_starts_and_frees_on_close(
    app: FastAPI, server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await new_workspace(client, tenant)
    first = await opened(await server.stream(tenant, ws))
    second = await opened(await server.stream(tenant, ws))  # held: a dropped one closes
    assert "stream.credential" in first.headers["ratelimit-policy"]
    refused = await server.stream(tenant, ws)
    body = await refusal(refused)
    assert body["error"] == "TOO_MANY_STREAMS"
    assert body["details"] == {"limit": 2, "current": 2, "scope": "user", "retry_after_seconds": 3}
    assert refused.headers["retry-after"] == "3"
    assert "ratelimit" in refused.headers
    other = await opened(await server.stream(tenant, ws, "member"))  # another user: own cap

    first.close()

    async def reopen() -> int:
        stream = await server.stream(tenant, ws)
        stream.close()
        return stream.status

    await eventually(reopen, lambda status: status == 200)
    second.close()
    other.close()


@pytest.mark.limits(max_streams_per_org=2)
async def test_org_cap_spans_users(
    server: Server, client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    ws = await new_workspace(client, tenant)
    held = [await opened(await server.stream(tenant, ws, role)) for role in ("owner", "member")]
    body = await refusal(await server.stream(tenant, ws, "viewer"))
    assert body["error"] == "TOO_MANY_STREAMS"
    assert body["details"]["scope"] == "org"  # type: ignore[index]
    other_ws = await new_workspace(client, other_tenant)
    (await opened(await server.stream(other_tenant, other_ws))).close()
    for stream in held:
        stream.close()


@pytest.mark.limits(max_streams_per_user=1)
async def test_a_stream_that_never_opens_keeps_no_slot(
    app: FastAPI, server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await new_workspace(client, tenant)
    for _ in range(3):
        missing = await server.stream(tenant, "no-such-workspace")
        assert missing.status == 404
        missing.close()
    assert counts(app) == {}
    stream = await opened(await server.stream(tenant, ws))
    assert counts(app) == {(tenant.org_id, tenant.users["owner"]): 1}
    stream.close()


@pytest.mark.limits(tuning={"stream_credential_rate": 0.01, "stream_credential_burst": 2})
async def test_stream_opens_have_their_own_bucket(
    server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await new_workspace(client, tenant)
    for _ in range(2):
        (await opened(await server.stream(tenant, ws))).close()
    body = await refusal(await server.stream(tenant, ws))
    assert body["error"] == "RATE_LIMITED"
    assert body["details"]["scope"] == "credential"  # type: ignore[index]
    # REST calls of the same key are not stream opens.
    assert (await client.get(tenant.base, headers=tenant.headers())).status_code == 200


@pytest.mark.limits(
    max_streams_per_user=5,
    tuning={"stream_credential_rate": 0.01, "stream_credential_burst": 5},
)
async def test_a_reconnect_storm_within_the_burst_is_admitted_whole(
    app: FastAPI, server: Server, client: httpx.AsyncClient, tenant: Tenant
) -> None:
    ws = await new_workspace(client, tenant)
    streams = [await server.stream(tenant, ws) for _ in range(5)]
    connected = [await stream.next() for stream in streams]
    resume_at = connected[0]
    assert resume_at.event == "sync.connected"
    # The streams lived a while (the bucket refilled), then every one dropped at once.
    app.state.services.clock.advance(500)
    for stream in streams:
        stream.close()
    await eventually(lambda: asyncio.sleep(0, counts(app)), lambda found: found == {})

    back = await asyncio.gather(
        *(server.stream(tenant, ws, last_event_id=resume_at.id) for _ in range(5))
    )
    refused = [await read_error(stream) for stream in back if stream.status != 200]
    assert refused == []
    body = await refusal(await server.stream(tenant, ws, last_event_id=resume_at.id))
    assert body["error"] == "RATE_LIMITED"  # the burst is one whole reconnect, no more
