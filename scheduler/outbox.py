"""Writing to the durable outbox: idempotent bulk inserts, and cancelling rows that are no longer wanted.

Every planned message carries an idempotency key; `INSERT ... ON CONFLICT DO NOTHING` makes planning the same
message twice a no-op on both SQLite and PostgreSQL, even when two planners race.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, String, Table, any_, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.enums import MessagePurpose, OutboxStatus
from storage.tables import OutboxItem

log = logging.getLogger(__name__)

OUTBOX = cast(Table, OutboxItem.__table__)
PENDING = (OutboxStatus.QUEUED.value, OutboxStatus.DEFERRED.value, OutboxStatus.SENDING.value)
CANCELLABLE = (OutboxStatus.QUEUED.value, OutboxStatus.DEFERRED.value)


# The columns a planner fills, in order; the rest keep their defaults (NULL, or set by the dispatcher).
PLANNED_COLUMNS = ("idempotency_key", "cardholder_id", "account_id", "contact_point_id", "channel", "purpose",
                   "template_id", "language", "params", "priority", "not_before", "status", "attempts",
                   "created_at", "updated_at")
_COPY_ABOVE = 50  # PostgreSQL batches larger than this go through COPY
_KEYS = postgresql.ARRAY(String)


def outbox_row(
    *,
    key: str,
    cardholder_id: int,
    account_id: int | None,
    contact_point_id: int | None,
    channel: str,
    purpose: MessagePurpose,
    template_id: str,
    language: str,
    params: dict[str, Any],
    not_before: datetime,
    now: datetime,
    priority: int = 100,
) -> tuple[Any, ...]:
    """One planned row, as a tuple in PLANNED_COLUMNS order (tuples keep a million-row sweep lean)."""
    return (key, cardholder_id, account_id, contact_point_id, channel, purpose.value, template_id, language, params,
            priority, not_before, OutboxStatus.QUEUED.value, 0, now, now)


def insert_new(bind: Session | Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert the rows whose idempotency key is new (INSERT ... ON CONFLICT DO NOTHING); returns how many were
    added. Large PostgreSQL batches are staged with COPY into a temporary table and inserted from there."""
    if not rows:
        return 0
    conn = bind.connection() if isinstance(bind, Session) else bind
    if conn.dialect.name == "postgresql" and len(rows) > _COPY_ABOVE:
        return _copy_insert(conn, rows)
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(OUTBOX).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(OUTBOX.c.id)
    return len(conn.execute(stmt, [dict(zip(PLANNED_COLUMNS, row, strict=True)) for row in rows]).all())


def _copy_insert(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """Rows whose key is not in the outbox yet are copied straight in. If a concurrent planner adds one of those
    keys in between, the copy fails as a whole on the unique key and the batch goes through a staging table and
    ON CONFLICT DO NOTHING instead: the same result, just slower."""
    keys = [row[0] for row in rows]
    existing = set(conn.execute(select(OUTBOX.c.idempotency_key)
                                .where(OUTBOX.c.idempotency_key == any_(bindparam("keys", keys, type_=_KEYS))))
                   .scalars())
    fresh = [row for row in rows if row[0] not in existing]
    if not fresh:
        return 0
    try:
        with conn.begin_nested():
            _copy(conn, _COPY_OUTBOX, fresh)
        return len(fresh)
    except IntegrityError:
        conn.exec_driver_sql(_STAGING_TABLE)
        _copy(conn, _COPY_STAGING, fresh)
        result = conn.exec_driver_sql(_INSERT_NEW)
        conn.exec_driver_sql("TRUNCATE outbox_incoming")  # a caller may insert again before it commits
        return int(result.rowcount)


def _copy(conn: Connection, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
    driver = conn.connection.driver_connection
    assert driver is not None
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row[:_PARAMS_AT] + (json.dumps(row[_PARAMS_AT]),) + row[_PARAMS_AT + 1 :])


# Built once from the fixed column names above (no outside input reaches these statements).
_COLUMNS = ", ".join(PLANNED_COLUMNS)
_PARAMS_AT = PLANNED_COLUMNS.index("params")
# Per connection, emptied at every commit; the outbox's unique key then decides what is new.
_STAGING_TABLE = ("CREATE TEMP TABLE IF NOT EXISTS outbox_incoming ON COMMIT DELETE ROWS AS SELECT "  # noqa: S608
                  + _COLUMNS + " FROM outbox WITH NO DATA")
_COPY_STAGING = "COPY outbox_incoming (" + _COLUMNS + ") FROM STDIN"
_COPY_OUTBOX = "COPY outbox (" + _COLUMNS + ") FROM STDIN"
_INSERT_NEW = ("INSERT INTO outbox (" + _COLUMNS + ") SELECT " + _COLUMNS  # noqa: S608
               + " FROM outbox_incoming ON CONFLICT (idempotency_key) DO NOTHING")


def insert_isolated(engine: Engine, rows: Sequence[tuple[Any, ...]]) -> tuple[int, int]:
    """Insert a batch in one transaction; if that fails, row by row, so one bad row costs only itself.

    Returns (rows added, rows that failed). Rows whose key already existed are neither.
    """
    if not rows:
        return 0, 0
    try:
        with engine.begin() as conn:
            return insert_new(conn, rows), 0
    except Exception:
        log.exception("outbox: batch insert of %d rows failed; inserting row by row", len(rows))
    added = failed = 0
    for row in rows:
        try:
            with engine.begin() as conn:
                added += insert_new(conn, [row])
        except Exception:
            log.exception("outbox: row %s failed", row[0])
            failed += 1
    return added, failed


def cancel_pending(
    session: Session, account_ids: Iterable[int], purposes: Iterable[MessagePurpose], reason: str, now: datetime
) -> int:
    """Cancel queued or deferred rows for these accounts (rows already being sent are left to finish)."""
    ids = list(account_ids)
    if not ids:
        return 0
    result = session.execute(
        update(OutboxItem)
        .where(
            OutboxItem.account_id.in_(ids),
            OutboxItem.purpose.in_([p.value for p in purposes]),
            OutboxItem.status.in_(CANCELLABLE),
        )
        .values(status=OutboxStatus.CANCELLED.value, last_error=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
