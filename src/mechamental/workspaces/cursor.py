"""Opaque, signed keyset cursors for the workspace list."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from mechamental.errors import validation_error

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Position:
    """The last item of a page: the next page starts strictly after it."""

    created_at: datetime
    workspace_id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: bytes, org_id: str, body: bytes) -> bytes:
    return hmac.new(key, org_id.encode() + b"\0" + body, hashlib.sha256).digest()[:18]


def list_key(secret: bytes, label: bytes) -> bytes:
    """The cursor key of one list (API keys, webhooks, deliveries): its own, derived from the
    process's cursor key, so that no list takes another's cursors."""
    return hmac.new(secret, label, hashlib.sha256).digest()


def encode_cursor(key: bytes, org_id: str, position: Position) -> str:
    """A cursor for `position`, valid only for `org_id`."""
    micros = (position.created_at - _EPOCH) // _MICRO
    body = orjson.dumps([micros, position.workspace_id])
    return f"{_b64(body)}.{_b64(_sign(key, org_id, body))}"


_MICRO = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def decode_cursor(key: bytes, org_id: str, cursor: str) -> Position:
    """The position in `cursor`; a malformed, tampered or foreign cursor is a 422."""
    try:
        body_text, _, sig_text = cursor.partition(".")
        body = _unb64(body_text)
        if not hmac.compare_digest(_unb64(sig_text), _sign(key, org_id, body)):
            raise ValueError("bad signature")
        micros, workspace_id = orjson.loads(body)
        if not isinstance(micros, int) or not isinstance(workspace_id, str):
            raise ValueError("bad payload")
        return Position(_EPOCH + micros * _MICRO, workspace_id)
    except (ValueError, TypeError, binascii.Error, OverflowError, orjson.JSONDecodeError):
        raise validation_error(
            ["query", "cursor"],
            "Invalid cursor: pass next_cursor from a previous page unchanged",
            cursor,
            "cursor_invalid",
        ) from None
