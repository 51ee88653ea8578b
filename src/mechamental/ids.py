"""Identifiers: UUIDv7, unique and ordered by creation time."""

from __future__ import annotations

import uuid_utils


def new_id() -> str:
    """A new time-ordered opaque id (UUIDv7, canonical text form)."""
    return str(uuid_utils.uuid7())
