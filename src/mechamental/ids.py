"""Identifiers: UUIDv7, unique and ordered by creation time."""

from __future__ import annotations

import uuid_utils

from mechamental.errors import ResourceNotFound


def new_id() -> str:
    """A new time-ordered opaque id (UUIDv7, canonical text form)."""
    return str(uuid_utils.uuid7())


def check_workspace_id(workspace_id: str) -> None:
    """404 for an id no workspace can have, without a query."""
    # No id contains NUL, and PostgreSQL would refuse to compare one: 404 without a query.
    if "\x00" in workspace_id:
        raise ResourceNotFound("workspace", workspace_id)
