"""Schemathesis hooks for tests/test_schemathesis.py: rules a schema cannot state.

Each hook rewrites only values that are valid by the schema, so negative cases reach the
server unchanged. Loaded by the CLI through SCHEMATHESIS_HOOKS=tests.schemathesis_hooks.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis
from rfc3339_validator import validate_rfc3339

from mechamental.api_keys.schemas import parse_rfc3339

_KEY = re.compile(r"^[!-~]([ -~]*[!-~])?$")
# Per list path: each list signs its own cursors, so one list's cursor is not the other's.
_ISSUED_CURSORS: dict[str, set[str]] = {}


def _org() -> str:
    return os.environ["MM_SCHEMATHESIS_ORG"]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Make schema-valid values also valid for the server's state."""
    headers = case.headers or {}
    for name, value in list(headers.items()):
        # Reusing a key with another body is 422 by design: every valid key is made unique.
        if name.lower() == "idempotency-key" and isinstance(value, str) and _KEY.match(value):
            headers[name] = value[: 255 - 13] + "-" + uuid.uuid4().hex[:12]
    query = case.query or {}
    # A cursor is an opaque signed token: only one the server issued (for this list) is valid.
    issued = _ISSUED_CURSORS.get(case.operation.path, set())
    if isinstance(query.get("cursor"), str) and query["cursor"] not in issued:
        del query["cursor"]
    # organization_id must equal the org in the path (a relation JSON Schema cannot state).
    if isinstance(query.get("organization_id"), str):
        query["organization_id"] = _org()
    body = case.body
    if isinstance(body, dict):
        if isinstance(body.get("organization_id"), str):
            body["organization_id"] = _org()
        # A region cannot change once set: every workspace here lives in the first one.
        regions = os.environ["MM_SCHEMATHESIS_REGIONS"].split(",")
        if body.get("region") in regions:
            body["region"] = regions[0]
        _future_expiry(body)
        # An endpoint URL is checked against DNS and the address ranges it may reach, which
        # no schema states: every generated one becomes the test's (refused, never reached).
        if "/webhooks" in case.operation.path and isinstance(body.get("url"), str):
            body["url"] = "http://127.0.0.1:9/schemathesis"


def _future_expiry(body: dict[str, Any]) -> None:
    """An API key's valid `expires_at` must also lie in the future (and within Python's
    years 1-9999 once in UTC): a valid date-time that does not is moved a day ahead."""
    value = body.get("expires_at")
    if not isinstance(value, str) or not validate_rfc3339(value):
        return
    try:
        fits = parse_rfc3339(value) > datetime.now(UTC) + timedelta(minutes=1)
    except ValueError:
        fits = False
    if not fits:
        body["expires_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Remember the cursors the server hands out."""
    if response.status_code == 200 and "next_cursor" in response.text:
        cursor = response.json().get("next_cursor")
        if isinstance(cursor, str):
            _ISSUED_CURSORS.setdefault(case.operation.path, set()).add(cursor)
