"""Hot-path reads: a Core SELECT compiled once per dialect, executed by the driver directly.

The statement is still built with SQLAlchemy (no hand-written SQL); what is skipped is the
per-call statement construction, cache-key walk and result processing, which cost ~300 us
per query and dominated GET latency. Column values are converted here to exactly what
SQLAlchemy returns for the same statement (aware UTC datetimes on both databases, decoded
JSON, bools), so callers see one type per column whichever path ran; a parity test checks it.

A query whose rows go straight into a response is made with `api_text=True`: its
timestamps are `types.api_timestamp` text on both databases. On SQLite that is the stored
text as it is; parsing it and having orjson format it again cost ~1 us per timestamp,
~100 us (16%) of a 50-item list page. PostgreSQL formats asyncpg's datetime instead, at
about what orjson would have spent on it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from sqlalchemy import JSON, Boolean, DateTime
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Select
from sqlalchemy.types import TypeEngine

from mechamental.types import SQLITE_STRFTIME, UTCDateTime, api_timestamp

Convert = Callable[[Any], Any]
_DIALECTS = {
    "sqlite": sqlite.dialect(paramstyle="qmark"),
    "postgresql": postgresql.asyncpg.dialect(),  # type: ignore[no-untyped-call]
}


def _identity(value: Any) -> Any:
    return value


def _sqlite_datetime_out(value: Any) -> Any:
    return None if value is None else datetime.fromisoformat(value)


def _sqlite_datetime_in(value: Any) -> Any:
    return None if value is None else value.astimezone(UTC).strftime(SQLITE_STRFTIME)


def _datetime_api_text(value: Any) -> Any:
    return None if value is None else api_timestamp(value)


def _json_out(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _bool_out(value: Any) -> Any:
    return None if value is None else bool(value)


def _is(type_: TypeEngine[Any], kind: type) -> bool:
    impl = type_.impl if isinstance(type_, UTCDateTime) else type_
    return isinstance(impl, kind)


def _result_converter(dialect: str, type_: TypeEngine[Any], api_text: bool) -> Convert:
    if _is(type_, DateTime):
        # SQLite keeps ISO-8601 UTC text with a Z (types.SQLITE_STORAGE); asyncpg gives UTC.
        if dialect == "sqlite":
            return _identity if api_text else _sqlite_datetime_out
        return _datetime_api_text if api_text else _identity
    if _is(type_, JSON):
        return _json_out
    if _is(type_, Boolean):
        return _bool_out
    return _identity


def _bind_converter(dialect: str, type_: TypeEngine[Any]) -> Convert:
    if dialect == "sqlite" and _is(type_, DateTime):
        return _sqlite_datetime_in
    return _identity


@dataclass(frozen=True, slots=True)
class Compiled:
    """One dialect's SQL text, parameter order, defaults and converters."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    binds: tuple[Convert, ...]
    keys: tuple[str, ...]
    conversions: tuple[tuple[str, Convert], ...]

    def args(self, params: dict[str, Any]) -> list[Any]:
        """Positional driver arguments for `params`."""
        return [
            convert(params[name] if name in params else self.defaults[name])
            for name, convert in zip(self.names, self.binds, strict=True)
        ]

    def rows(self, records: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        """Driver records as dicts of converted values."""
        keys = self.keys
        out = [dict(zip(keys, record, strict=True)) for record in records]
        for key, convert in self.conversions:
            for row in out:
                row[key] = convert(row[key])
        return out


class FastQuery:
    """A SELECT with named `bindparam`s, compiled lazily once per dialect.

    With `api_text`, timestamps come back as `types.api_timestamp` text (for responses).
    Every instance is listed in `FastQuery.instances` (for the parity test).
    """

    instances: ClassVar[list[FastQuery]] = []

    def __init__(self, stmt: Select[Any], *, api_text: bool = False) -> None:
        self.stmt = stmt
        self.api_text = api_text
        self._compiled: dict[str, Compiled] = {}
        FastQuery.instances.append(self)

    def compiled(self, dialect: str) -> Compiled:
        """The statement compiled for `dialect` ("sqlite" or "postgresql")."""
        found = self._compiled.get(dialect)
        if found is None:
            comp = self.stmt.compile(dialect=_DIALECTS[dialect])
            names = tuple(comp.positiontup or ())
            found = Compiled(
                sql=comp.string,
                names=names,
                defaults={n: comp.binds[n].value for n in names if not comp.binds[n].required},
                binds=tuple(_bind_converter(dialect, comp.binds[n].type) for n in names),
                keys=tuple(str(c.key) for c in self.stmt.selected_columns),
                conversions=tuple(
                    (str(c.key), f)
                    for c in self.stmt.selected_columns
                    if (f := _result_converter(dialect, c.type, self.api_text)) is not _identity
                ),
            )
            self._compiled[dialect] = found
        return found
