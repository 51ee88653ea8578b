"""Column types shared by every table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import DateTime, Dialect
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator, TypeEngine

# SQLite keeps timestamps as text; this fixed-width ISO form sorts correctly and is already
# the API's representation, so the hot read path can emit it without parsing.
SQLITE_STORAGE = (
    "%(year)04d-%(month)02d-%(day)02dT%(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06dZ"
)
SQLITE_STRFTIME = "%Y-%m-%dT%H:%M:%S.%fZ"
_SQLITE_DATETIME = sqlite.DATETIME(  # type: ignore[no-untyped-call]
    storage_format=SQLITE_STORAGE, regexp=r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)\.(\d+)Z"
)


def api_timestamp(value: datetime) -> str:
    """A timestamp as read fast for a response: SQLite's stored text form (UTC, Z, 6 digits)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def parse_api_timestamp(text: str) -> datetime:
    """The aware UTC datetime of an `api_timestamp` text."""
    return datetime.fromisoformat(text)


def _json_serializer(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC).decode()


# How JSON columns are encoded, for every engine.
JSON_ARGS: dict[str, Any] = {"json_serializer": _json_serializer, "json_deserializer": orjson.loads}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return _SQLITE_DATETIME
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time, UTC, aware."""
    return datetime.now(UTC)
