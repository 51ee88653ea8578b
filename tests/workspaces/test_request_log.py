"""One structured log line per request: route template, never the token or the query string."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.conftest import Tenant
from tests.helpers import create_ws

FIELDS = ("method", "route", "status", "duration_ms", "request_id", "org_id", "user_id")


def request_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "mechamental.request"]


async def test_one_line_per_request_with_its_fields(
    client: httpx.AsyncClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    ws = await create_ws(client, tenant, role="member")
    caplog.set_level(logging.INFO, logger="mechamental.request")
    token = tenant.tokens["member"]
    response = await client.get(
        f"{tenant.base}/{ws['workspace_id']}",
        params={"access_token": "query-secret-123"},
        headers={**tenant.headers("member"), "X-Request-ID": "log-test-1"},
    )
    assert response.status_code == 200
    records = request_records(caplog)
    assert len(records) == 1
    record = records[0]
    for field in FIELDS:
        assert hasattr(record, field), field
    assert record.method == "GET"  # type: ignore[attr-defined]
    assert record.route == "/v1/orgs/{org_id}/workspaces/{workspace_id}"  # type: ignore[attr-defined]
    assert record.status == 200  # type: ignore[attr-defined]
    assert record.request_id == "log-test-1"  # type: ignore[attr-defined]
    assert record.org_id == tenant.org_id  # type: ignore[attr-defined]
    assert record.user_id == tenant.users["member"]  # type: ignore[attr-defined]
    assert isinstance(record.duration_ms, float) and record.duration_ms >= 0  # type: ignore[attr-defined]
    everything = repr(record.__dict__) + record.getMessage()
    for secret in (token, "query-secret-123", ws["workspace_id"], "Bearer"):
        assert secret not in everything, secret


async def test_failures_are_logged_with_status_and_without_the_principal(
    client: httpx.AsyncClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mechamental.request")
    bad_token = "mm_definitely_not_valid_secret"
    await client.get(tenant.base, headers={"Authorization": f"Bearer {bad_token}"})
    await client.get("/no/such/route")
    await client.post(tenant.base, json={"name": ""}, headers=tenant.headers())
    records = request_records(caplog)
    assert [r.status for r in records] == [401, 404, 422]  # type: ignore[attr-defined]
    assert records[0].org_id is None and records[0].user_id is None  # type: ignore[attr-defined]
    assert records[1].route == "/no/such/route"  # type: ignore[attr-defined]
    assert records[2].user_id == tenant.users["owner"]  # type: ignore[attr-defined]
    assert all(bad_token not in repr(r.__dict__) for r in records)
    assert len({r.request_id for r in records}) == 3  # type: ignore[attr-defined]
