"""The webhook endpoints: CRUD, validation, permissions, tenancy, SSRF refusals at create."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mechamental.config import Settings
from tests.conftest import Tenant
from tests.helpers import assert_envelope
from tests.webhooks.conftest import create_webhook


def base(tenant: Tenant) -> str:
    return f"/v1/orgs/{tenant.org_id}/webhooks"


async def test_create_get_list_replace_delete(client: httpx.AsyncClient, tenant: Tenant) -> None:
    created = await create_webhook(
        client,
        tenant,
        None,
        url="http://127.0.0.1:9/hook",
        event_types=["workspace.*"],
        description="ci",
    )
    assert created["secret"].startswith("whsec_")
    assert created["event_types"] == ["workspace.*"] and created["enabled"] is True
    assert created["disabled_reason"] is None
    url = f"{base(tenant)}/{created['id']}"
    got = (await client.get(url, headers=tenant.headers("admin"))).json()
    assert "secret" not in got and got["url"] == "http://127.0.0.1:9/hook"
    default = await create_webhook(client, tenant, None, url="http://127.0.0.1:9/other")
    assert default["event_types"] == ["*"]
    page = (await client.get(base(tenant), params={"limit": 1}, headers=tenant.headers())).json()
    assert [w["id"] for w in page["webhooks"]] == [default["id"]] and page["has_more"]
    rest = await client.get(
        base(tenant), params={"cursor": page["next_cursor"]}, headers=tenant.headers()
    )
    assert [w["id"] for w in rest.json()["webhooks"]] == [created["id"]]
    replaced = await client.put(
        url, json={"url": "http://127.0.0.1:9/new", "enabled": False}, headers=tenant.headers()
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["enabled"] is False and replaced.json()["event_types"] == ["*"]
    assert (await client.delete(url, headers=tenant.headers())).status_code == 204
    assert_envelope(await client.get(url, headers=tenant.headers()), 404, "RESOURCE_NOT_FOUND")


async def test_tenancy_and_permissions(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    created = await create_webhook(client, tenant, None, url="http://127.0.0.1:9/hook")
    theirs = f"{base(other_tenant)}/{created['id']}"
    for method, suffix in [
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("POST", "/rotate-secret"),
        ("POST", "/test"),
        ("GET", "/deliveries"),
    ]:
        kwargs: dict[str, Any] = (
            {"json": {"url": "http://127.0.0.1:9/x"}} if method == "PUT" else {}
        )
        response = await client.request(
            method, theirs + suffix, headers=other_tenant.headers(), **kwargs
        )
        assert_envelope(response, 404, "RESOURCE_NOT_FOUND")
    listed = (await client.get(base(other_tenant), headers=other_tenant.headers())).json()
    assert listed["webhooks"] == []
    for role in ("member", "viewer"):
        response = await client.get(base(tenant), headers=tenant.headers(role))
        assert_envelope(response, 403, "FORBIDDEN", {"required_permission": "webhook:manage"})
    # Another org's token on this org's path: 403, like every endpoint.
    response = await client.get(base(tenant), headers=other_tenant.headers())
    assert_envelope(response, 403, "FORBIDDEN")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": "ftp://example.com/x"},
        {"url": "http://127.0.0.1:9/x", "event_types": ["nope.*"]},
        {"url": "http://127.0.0.1:9/x", "event_types": ["sync.connected"]},
        {"url": "http://127.0.0.1:9/x", "event_types": []},
        {"url": "http://127.0.0.1:9/x", "enabled": "yes"},
        {"url": "http://127.0.0.1:9/x", "extra": 1},
        {"url": "http://user:pw@127.0.0.1:9/x"},
    ],
)
async def test_bad_bodies_are_422(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]
) -> None:
    response = await client.post(base(tenant), json=body, headers=tenant.headers())
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


class TestPrivateRefused:
    """With WEBHOOK_ALLOW_PRIVATE off: loopback, private, metadata and http are refused."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"webhook_allow_private": False})

    @pytest.mark.parametrize(
        "url",
        [
            "https://127.0.0.1/hook",
            "https://10.0.0.1/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost/hook",
            "https://[::1]/hook",
            "https://[::ffff:127.0.0.1]/hook",
            "http://example.com/hook",
            "https://" + "a" * 64 + ".example.com/hook",  # IDNA refuses the label
        ],
    )
    async def test_refused(self, client: httpx.AsyncClient, tenant: Tenant, url: str) -> None:
        response = await client.post(base(tenant), json={"url": url}, headers=tenant.headers())
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", "url"]


async def test_deliveries_page_newest_first_by_cursor(
    client: httpx.AsyncClient, tenant: Tenant, other_tenant: Tenant, receivers: Any
) -> None:
    hook = await create_webhook(client, tenant, await receivers())
    for _ in range(5):
        sent = await client.post(f"{base(tenant)}/{hook['id']}/test", headers=tenant.headers())
        assert sent.status_code == 202, sent.text
    url = f"{base(tenant)}/{hook['id']}/deliveries"
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await client.get(url, params=params, headers=tenant.headers())
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["deliveries"]) <= 2
        seen += body["deliveries"]
        cursor = body["next_cursor"]
        assert body["has_more"] == (cursor is not None)
        if cursor is None:
            break
    assert len(seen) == len({d["id"] for d in seen}) == 5
    assert all(d["event_type"] == "webhook.test" for d in seen)
    stamps = [d["created_at"] for d in seen]
    assert stamps == sorted(stamps, reverse=True)
    # A cursor is the org's and this list's: tampered, or another org's, it is refused.
    first = await client.get(url, params={"limit": 2}, headers=tenant.headers())
    token = first.json()["next_cursor"]
    assert token is not None
    tampered = await client.get(url, params={"cursor": token[:-2] + "xx"}, headers=tenant.headers())
    assert 400 <= tampered.status_code < 500 and tampered.status_code != 404
    theirs = await client.get(
        f"/v1/orgs/{other_tenant.org_id}/webhooks/{hook['id']}/deliveries",
        headers=other_tenant.headers(),
    )
    assert theirs.status_code == 404
