"""Request and response bodies of the API key endpoints.

Request bodies are strict, like the workspaces' (JSON types only, no unknown fields), and
every rule is a schema keyword, so the OpenAPI document states exactly what is accepted.
Two fields are lax where strict would refuse JSON itself: FastAPI validates the parsed
body in Python mode, where a strict enum wants an `Role` instance and a strict datetime a
`datetime`. `role` takes exactly the enum's strings; `expires_at` is parsed here, by the
RFC 3339 grammar that `format: date-time` names (as JSON Schema validators check it).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from mechamental.auth.permissions import Role

NO_NUL = r"^[^\x00]*$"
KeyName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_NUL)]
UserId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
ApiKeyId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00]+$",
        title="Key Id",
        description="The key's id (from its create response or the list)",
    ),
]

# RFC 3339 `date-time`: uppercase T and Z, no leap second (Python has none), as
# rfc3339-validator (jsonschema's checker) reads it; the day is checked against the month.
_RFC3339 = re.compile(
    r"^(\d{4})-(0[1-9]|1[0-2])-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(?:\.(\d+))?"
    r"(?:Z|([+-])([01]\d|2[0-3]):([0-5]\d))$",
    re.ASCII,
)


def parse_rfc3339(value: Any) -> Any:
    """An RFC 3339 date-time string as an aware UTC datetime; anything else is left to fail.

    Raises ValueError (a 422) for a string that is not one, or whose instant Python cannot
    hold (years before 1 or after 9999 once in UTC).
    """
    if not isinstance(value, str):
        return value  # the strict datetime check then refuses it with the usual type error
    match = _RFC3339.match(value)
    if match is None:
        raise ValueError("must be an RFC 3339 date-time, e.g. 2030-01-01T00:00:00Z")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction, sign, off_hours, off_minutes = match.groups()[6:]
    if year == 0 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError("must be an RFC 3339 date-time with a real calendar date")
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    offset = timedelta(0)
    if sign is not None:
        offset = timedelta(hours=int(off_hours), minutes=int(off_minutes))
        offset = -offset if sign == "-" else offset
    try:
        local = datetime(year, month, day, hour, minute, second, micros, timezone(offset))
        return local.astimezone(UTC)
    except OverflowError:
        raise ValueError("must be a date-time between the years 1 and 9999 in UTC") from None


ExpiresAt = Annotated[
    datetime,
    BeforeValidator(parse_rfc3339),
    Field(description="When the key stops working (RFC 3339, in the future); null: never"),
]


class ApiKeyCreate(BaseModel):
    """Body of `POST /v1/orgs/{org_id}/api-keys`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: KeyName = Field(description="A label to recognise the key by (1-200 characters)")
    role: Role = Field(strict=False, description="An owner key can be minted only by an owner")
    user_id: UserId | None = Field(
        default=None, description="The user the key acts as; defaults to the caller"
    )
    expires_at: ExpiresAt | None = None


class ApiKeyRead(BaseModel):
    """An API key as the list and get return it: never its secret."""

    id: str
    name: str = Field(description="'' for keys made without one (the CLI)")
    role: Role
    user_id: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = Field(
        description="When it last authenticated, written about once a minute"
    )


class ApiKeyCreated(ApiKeyRead):
    """The create response: the key, and its secret, shown this once and never again."""

    secret: str = Field(
        examples=["mm_..."], description="The bearer token; store it now, it is not kept"
    )


class ApiKeyList(BaseModel):
    """One page of `GET /v1/orgs/{org_id}/api-keys`: live keys, newest first."""

    total: int
    has_more: bool
    next_cursor: str | None
    api_keys: list[ApiKeyRead]


class ListParams(BaseModel):
    """Query parameters of `GET /v1/orgs/{org_id}/api-keys` (the workspace list's paging)."""

    model_config = ConfigDict(extra="ignore")

    limit: int = Field(
        default=50, ge=1, le=200, description="Maximum number of items to return (1-200)"
    )
    cursor: str | None = Field(
        default=None, description="Cursor for pagination (from previous response's next_cursor)"
    )
