"""Generated bad inputs: bodies, query strings, headers, cursors, ids. Never a 500, never a leak."""

from __future__ import annotations

import json
import os
import re
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Tenant
from tests.helpers import (
    LIST_FIELDS,
    assert_401,
    assert_422,
    assert_envelope,
    assert_workspace,
    create_ws,
)

# Modest by default to keep the suite fast; raise MM_FUZZ_EXAMPLES for a deeper run by hand.
FUZZ = settings(
    max_examples=int(os.environ.get("MM_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CREATE_FIELDS = ["organization_id", "name", "description", "subscription_plan_id", "is_active",
                 "tags", "region"]  # fmt: skip
UPDATE_FIELDS = ["name", "description", "subscription_plan_id", "is_active", "tags", "region"]
READ_ONLY = ["workspace_id", "owner_id", "s3_bucket", "bucket_status", "created_at", "version"]
SPECIAL_STRINGS = ["", " ", "\x00", "a\x00b", "\ud800", "x\udfff", "\u202e", "🚀", "A" * 101,
                   "d" * 2001, "us-east-1", "eu-west-1", "mars-1", "%", "_", "'; DROP TABLE x;--",
                   "null", "true", "0", "-1", "1e309"]  # fmt: skip
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Any code point, lone surrogates included (json.dumps escapes them as \udXXX).
any_text = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()),
                   max_size=30) | st.sampled_from(SPECIAL_STRINGS)  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(
            st.sampled_from(CREATE_FIELDS + READ_ONLY) | any_text, children, max_size=5
        )
    ),
    max_leaves=20,
)
tags = st.lists(st.from_regex(r"[a-z0-9._:-]{1,8}", fullmatch=True) | any_text, max_size=55)


def bodies(fields: list[str]) -> st.SearchStrategy[Any]:
    """Mostly objects with plausible keys and hostile values; sometimes anything at all."""
    plausible = st.fixed_dictionaries(
        {},
        optional={
            **{f: json_values for f in fields},
            "name": any_text | json_values,
            "tags": tags | json_values,
            "is_active": st.booleans() | json_values,
            "region": st.sampled_from(["us-east-1", "eu-west-1", "xx-nowhere-1"]) | json_values,
            "extra": json_values,
        },
    )
    return plausible | json_values


# Header values as a real client could send them: visible latin-1 plus space and tab.
header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
) | st.sampled_from(["", "*", "W/*", '"x"', "Bearer", "Bearer mm_", "mm_x", "a.b.c", ",,,"])


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()  # ensure_ascii: surrogates escaped


def assert_safe(response: httpx.Response) -> None:
    """Whatever the input: a client error or success, a JSON body (if any), no internals."""
    assert response.status_code < 500, response.text
    assert response.headers["x-request-id"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    if response.content:
        json.loads(response.content)


@FUZZ
@given(body=bodies(CREATE_FIELDS))
async def test_create_with_generated_bodies(
    client: httpx.AsyncClient, tenant: Tenant, body: Any
) -> None:
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    response = await client.post(tenant.base, content=encode(body), headers=headers)
    assert_safe(response)
    assert response.status_code in (201, 422), response.text
    name = body.get("name") if isinstance(body, dict) else None
    # Certainly invalid names (whatever whitespace set the trimming uses).
    bad_name = (
        not isinstance(name, str)
        or not name.strip(" \t\n\r\x0b\x0c")
        or len(name.strip()) > 100
        or "\x00" in name
    )
    known = isinstance(body, dict) and set(body) <= set(CREATE_FIELDS)
    if bad_name or not known:
        assert response.status_code == 422
    if response.status_code == 422:
        assert_422(response)
        return
    ws = response.json()
    assert_workspace(ws)
    assert isinstance(name, str) and ws["name"] in name and "\x00" not in ws["name"]
    assert ws["tags"] == list(dict.fromkeys(body.get("tags", [])))
    assert ws["region"] == (body.get("region") or "us-east-1")
    assert ws["description"] == body.get("description")
    got = await client.get(f"{tenant.base}/{ws['workspace_id']}", headers=tenant.headers())
    assert got.json() == ws


@FUZZ
@given(body=bodies(UPDATE_FIELDS))
async def test_update_with_generated_bodies(
    client: httpx.AsyncClient, tenant: Tenant, body: Any
) -> None:
    ws = await create_ws(client, tenant, name="fuzz-target", tags=["a"])
    url = f"{tenant.base}/{ws['workspace_id']}"
    headers = {**tenant.headers(), "Content-Type": "application/json"}
    response = await client.put(url, content=encode(body), headers=headers)
    assert_safe(response)
    assert response.status_code in (200, 422), response.text
    after = (await client.get(url, headers=tenant.headers())).json()
    if response.status_code == 422:
        assert_422(response)
        assert after == ws  # a rejected update changes nothing
    else:
        assert isinstance(body, dict) and set(body) <= set(UPDATE_FIELDS)
        assert after == response.json()
        assert_workspace(after)
        assert after["region"] == ws["region"] and after["created_at"] == ws["created_at"]


QUERY_KEYS = ["limit", "cursor", "organization_id", "is_active", "tag", "region", "q", "other"]


@FUZZ
@given(params=st.dictionaries(st.sampled_from(QUERY_KEYS) | any_text, any_text, max_size=5))
async def test_list_with_generated_query_strings(
    client: httpx.AsyncClient, tenant: Tenant, params: dict[str, str]
) -> None:
    params = {k.encode("utf-8", "replace").decode(): v.encode("utf-8", "replace").decode()
              for k, v in params.items()}  # fmt: skip
    response = await client.get(tenant.base, params=params, headers=tenant.headers("viewer"))
    assert_safe(response)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert_422(response)
    else:
        page = response.json()
        assert set(page) == LIST_FIELDS
        limit = params.get("limit", "50").strip()
        assert len(page["workspaces"]) <= (int(limit) if limit.isdigit() else 200)
        assert page["total"] >= len(page["workspaces"])


@FUZZ
@given(cursor=any_text | st.from_regex(r"[A-Za-z0-9_-]{0,40}\.[A-Za-z0-9_-]{0,30}", fullmatch=True))
async def test_random_cursors_are_422(
    client: httpx.AsyncClient, tenant: Tenant, cursor: str
) -> None:
    cursor = cursor.encode("utf-8", "replace").decode()
    response = await client.get(tenant.base, params={"cursor": cursor}, headers=tenant.headers())
    assert_safe(response)
    if cursor == "":
        assert response.status_code == 200  # no cursor: the first page
    else:
        assert_422(response, ["query", "cursor"])


@FUZZ
@given(position=st.integers(min_value=0), replacement=st.sampled_from("AQgw_-.=xZ09"))
async def test_mutated_real_cursors_are_422(
    client: httpx.AsyncClient, tenant: Tenant, position: int, replacement: str
) -> None:
    if not (await client.get(tenant.base, headers=tenant.headers())).json()["total"]:
        for i in range(3):
            await create_ws(client, tenant, name=f"c{i}")
    page = (await client.get(tenant.base, params={"limit": 1}, headers=tenant.headers())).json()
    cursor = page["next_cursor"]
    i = position % len(cursor)
    mutated = cursor[:i] + replacement + cursor[i + 1 :]
    response = await client.get(tenant.base, params={"cursor": mutated}, headers=tenant.headers())
    assert_safe(response)
    if mutated == cursor:
        assert response.status_code == 200
    elif response.status_code == 200:
        # Base64 leniency may decode a changed last character to the same bytes; then the
        # position must be exactly the one the real cursor names.
        real = await client.get(tenant.base, params={"cursor": cursor}, headers=tenant.headers())
        assert response.json() == real.json()
    else:
        assert_422(response, ["query", "cursor"])


@FUZZ
@given(value=header_text)
async def test_random_authorization_headers_are_401(
    client: httpx.AsyncClient, tenant: Tenant, value: str
) -> None:
    response = await client.get(tenant.base, headers={"Authorization": value.encode("latin-1")})
    assert_safe(response)
    assert_401(response)


@FUZZ
@given(value=header_text)
async def test_random_request_ids(client: httpx.AsyncClient, tenant: Tenant, value: str) -> None:
    response = await client.get(
        tenant.base, headers={**tenant.headers(), "X-Request-ID": value.encode("latin-1")}
    )
    assert_safe(response)
    assert response.status_code == 200
    echoed = response.headers["x-request-id"]
    if REQUEST_ID.match(value):
        assert echoed == value
    else:
        assert echoed != value and REQUEST_ID.match(echoed)


@FUZZ
@given(if_match=header_text, if_none_match=header_text)
async def test_random_conditional_headers(
    client: httpx.AsyncClient, tenant: Tenant, if_match: str, if_none_match: str
) -> None:
    ws = await create_ws(client, tenant)
    url = f"{tenant.base}/{ws['workspace_id']}"
    got = await client.get(
        url, headers={**tenant.headers(), "If-None-Match": if_none_match.encode("latin-1")}
    )
    assert_safe(got)
    members = {t.strip() for t in if_none_match.split(",")}
    assert got.status_code == (304 if {"*", "W/*"} & members else 200)
    put = await client.put(
        url,
        json={"name": "changed"},
        headers={**tenant.headers(), "If-Match": if_match.encode("latin-1")},
    )
    assert_safe(put)
    wildcard = bool({"*", "W/*"} & {t.strip() for t in if_match.split(",")})
    if wildcard:
        assert put.status_code == 200 and put.json()["name"] == "changed"
    else:
        assert_envelope(put, 412, "PRECONDITION_FAILED")
        assert (await client.get(url, headers=tenant.headers())).json() == ws


@FUZZ
@given(key=header_text)
async def test_random_idempotency_keys(client: httpx.AsyncClient, tenant: Tenant, key: str) -> None:
    headers = {**tenant.headers(), "Idempotency-Key": key.encode("latin-1")}
    response = await client.post(tenant.base, json={"name": "idem"}, headers=headers)
    assert_safe(response)
    valid = 1 <= len(key) <= 255 and key.isascii() and key.isprintable()
    if valid:
        assert response.status_code == 201
        again = await client.post(tenant.base, json={"name": "idem"}, headers=headers)
        assert again.status_code == 201 and again.json() == response.json()
    else:
        assert_422(response, ["header", "idempotency-key"])


# "." and ".." are dot segments: the client's URL normalisation makes them another path.
@FUZZ
@given(workspace_id=any_text.filter(lambda t: t not in ("", ".", "..")))
async def test_random_workspace_ids_are_404(
    client: httpx.AsyncClient, tenant: Tenant, workspace_id: str
) -> None:
    path = quote(workspace_id.encode("utf-8", "replace"), safe="")
    url = f"{tenant.base}/{path}"
    for method, body in (("GET", None), ("PUT", {"name": "x"}), ("DELETE", None)):
        response = await client.request(method, url, json=body, headers=tenant.headers())
        assert_safe(response)
        sent = workspace_id.encode("utf-8", "replace").decode()
        if "\x00" in sent or len(sent) > 64:  # not a WorkspaceId: 422 at the edge
            assert_422(response, ["path", "workspace_id"])
        else:
            assert_envelope(response, 404, "RESOURCE_NOT_FOUND")


@FUZZ
@given(raw=st.binary(max_size=200), content_type=header_text)
async def test_random_raw_bodies(
    client: httpx.AsyncClient, tenant: Tenant, raw: bytes, content_type: str
) -> None:
    headers = {**tenant.headers(), "Content-Type": content_type.encode("latin-1")}
    response = await client.post(tenant.base, content=raw, headers=headers)
    assert_safe(response)
    assert response.status_code in (201, 400, 415, 422), response.text
