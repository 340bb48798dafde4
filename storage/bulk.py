"""Bulk inserts for large loads (portfolio import): COPY on PostgreSQL, one raw executemany on SQLite.

SQLAlchemy's INSERT with many parameter sets is correct everywhere but, for 100,000 rows, spends most of its
time converting each value and (on PostgreSQL) having the driver parse very long multi-row statements. COPY is
PostgreSQL's native bulk path; on SQLite the DB-API executemany is fast once values are already in the text form
SQLAlchemy stores. Both run on the session's connection, inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ARRAY, Table, any_, bindparam, cast, insert
from sqlalchemy.orm import Session

from storage.types import JSONDoc, UTCDateTime


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys. Python-side column defaults are filled in as INSERT would."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        session.execute(insert(table), list(rows))
        return
    keys = list(rows[0])
    defaults = _python_defaults(table, keys)
    columns = keys + list(defaults)
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSONDoc)}
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if dialect == "postgresql":
            from psycopg import sql

            statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
            )
            # COPY would take a naive datetime as it stands; refuse it, as storage.types.UTCDateTime does.
            stamps = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, UTCDateTime)]
            with cursor.copy(statement) as copy:
                for row in rows:
                    values = _values(row, keys, defaults, json_columns, _postgres_json)
                    for i in stamps:
                        _aware(values[i])
                    copy.write_row(values)
        else:
            # SQLAlchemy writes the statement; only the per-value conversion is done here, in bulk.
            compiled = insert(table).compile(dialect=session.get_bind().dialect, column_keys=columns)
            order = [columns.index(name) for name in compiled.positiontup or ()]
            as_text: dict[Any, Any] = {}  # most timestamps in a load are the same instant: convert each once

            def text(value: Any) -> Any:
                if not isinstance(value, date):
                    return value
                if value not in as_text:
                    as_text[value] = _sqlite(value)
                return as_text[value]

            prepared = (_values(row, keys, defaults, json_columns, json.dumps) for row in rows)
            cursor.executemany(str(compiled), [[text(value[i]) for i in order] for value in prepared])
    finally:
        cursor.close()


def among(session: Session, column: Any, values: Sequence[Any]) -> Any:
    """`column IN (values)` for thousands of values: one array parameter on PostgreSQL, not one per value."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(cast(bindparam(None, list(values), expanding=False), ARRAY(column.type)))
    return column.in_(values)


def _values(row: dict[str, Any], keys: list[str], defaults: dict[str, Any], json_columns: set[str],
            encode_json: Any) -> list[Any]:
    values = [row[key] for key in keys] + list(defaults.values())
    if json_columns:
        names = keys + list(defaults)
        values = [encode_json(v) if n in json_columns and v is not None else v for n, v in zip(names, values,
                                                                                             strict=True)]
    return values


def _python_defaults(table: Table, keys: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.name in keys or default is None:
            continue
        if getattr(default, "is_scalar", False):
            out[column.name] = default.arg  # type: ignore[attr-defined]
        elif getattr(default, "is_callable", False):
            out[column.name] = default.arg(None)  # type: ignore[attr-defined]
    return out


def _postgres_json(value: Any) -> Any:
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _aware(value: Any) -> Any:
    if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"naive datetime {value!r} refused: store timezone-aware UTC")
    return value


def _sqlite(value: Any) -> Any:
    """The text SQLAlchemy itself stores on SQLite (see storage.types.UTCDateTime): naive UTC, microseconds."""
    if isinstance(value, datetime):
        return _aware(value).astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if isinstance(value, date):
        return value.isoformat()
    return value
