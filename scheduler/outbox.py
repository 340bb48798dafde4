"""Writing to the durable outbox: idempotent bulk inserts, and cancelling rows that are no longer wanted.

Every planned message carries an idempotency key; `INSERT ... ON CONFLICT DO NOTHING` makes planning the same
message twice a no-op on both SQLite and PostgreSQL, even when two planners race.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.enums import MessagePurpose, OutboxStatus
from storage.tables import OutboxItem

log = logging.getLogger(__name__)

OUTBOX = OutboxItem.__table__
PENDING = (OutboxStatus.QUEUED.value, OutboxStatus.DEFERRED.value, OutboxStatus.SENDING.value)
CANCELLABLE = (OutboxStatus.QUEUED.value, OutboxStatus.DEFERRED.value)


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
) -> dict[str, Any]:
    return {
        "idempotency_key": key,
        "cardholder_id": cardholder_id,
        "account_id": account_id,
        "conversation_id": None,
        "contact_point_id": contact_point_id,
        "channel": channel,
        "purpose": purpose.value,
        "template_id": template_id,
        "language": language,
        "params": params,
        "priority": priority,
        "not_before": not_before,
        "status": OutboxStatus.QUEUED.value,
        "attempts": 0,
        "claimed_by": None,
        "claimed_at": None,
        "last_error": None,
        "message_id": None,
        "created_at": now,
        "updated_at": now,
    }


def insert_new(bind: Session | Connection, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the rows whose idempotency key is new; returns how many were added."""
    if not rows:
        return 0
    dialect = bind.get_bind().dialect.name if isinstance(bind, Session) else bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(OUTBOX).on_conflict_do_nothing(index_elements=["idempotency_key"]).returning(OUTBOX.c.id)
    return len(bind.execute(stmt, list(rows)).all())


def insert_isolated(engine: Engine, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
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
            log.exception("outbox: row %s failed", row["idempotency_key"])
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
