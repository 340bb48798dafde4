"""Claiming outbox rows so that each is handed to exactly one dispatcher, however many run.

PostgreSQL: `UPDATE outbox ... WHERE id IN (SELECT id ... FOR UPDATE SKIP LOCKED LIMIT n) RETURNING`, so
concurrent workers each take different rows without waiting on each other. SQLite has no SKIP LOCKED (SQLAlchemy
drops it), but it serialises writers, and the same conditional `UPDATE ... WHERE status='queued' RETURNING` is
atomic there: a row can only move from queued to sending once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, select, update

from core.enums import OutboxStatus
from scheduler.outbox import OUTBOX

# The author the dispatcher writes on every message it sends; both reconcilers read it to tell its messages apart.
DISPATCHER_AUTHOR = "scheduler"


@dataclass(frozen=True, slots=True)
class ClaimedRow:
    id: int
    cardholder_id: int
    account_id: int | None
    conversation_id: int | None
    contact_point_id: int | None
    channel: str
    purpose: str
    template_id: str
    language: str
    params: dict[str, Any]
    attempts: int
    claimed_at: datetime


_RETURNED = (
    OUTBOX.c.id, OUTBOX.c.cardholder_id, OUTBOX.c.account_id, OUTBOX.c.conversation_id, OUTBOX.c.contact_point_id,
    OUTBOX.c.channel, OUTBOX.c.purpose, OUTBOX.c.template_id, OUTBOX.c.language, OUTBOX.c.params,
    OUTBOX.c.attempts, OUTBOX.c.claimed_at,
)


def claim(engine: Engine, worker_id: str, limit: int, now: datetime) -> list[ClaimedRow]:
    """Move up to `limit` due rows from queued to sending, owned by `worker_id`, most urgent first."""
    due = (
        select(OUTBOX.c.id)
        .where(OUTBOX.c.status == OutboxStatus.QUEUED.value, OUTBOX.c.not_before <= now)
        .order_by(OUTBOX.c.priority, OUTBOX.c.not_before)
        .limit(limit)
        .with_for_update(skip_locked=True)
        # MATERIALIZED: the locked pick is made once. As a plain `IN (subquery)` PostgreSQL may re-run it while
        # joining and claim more than `limit` rows.
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    stmt = (
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(select(due.c.id)), OUTBOX.c.status == OutboxStatus.QUEUED.value)
        .values(status=OutboxStatus.SENDING.value, claimed_by=worker_id[:64], claimed_at=now, updated_at=now)
        .returning(*_RETURNED)
    )
    with engine.begin() as conn:
        rows = conn.execute(stmt).all()
    claimed = [ClaimedRow(*row) for row in rows]
    claimed.sort(key=lambda r: r.id)
    return claimed


def wake_deferred(engine: Engine, now: datetime) -> int:
    """Deferred rows whose time has come go back to the queue (a deferral is a wait, never a drop)."""
    with engine.begin() as conn:
        result = conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.status == OutboxStatus.DEFERRED.value, OUTBOX.c.not_before <= now)
            .values(status=OutboxStatus.QUEUED.value, updated_at=now)
        )
    return int(result.rowcount or 0)


def release(engine: Engine, row_id: int, worker_id: str, not_before: datetime, now: datetime) -> None:
    """Hand a claimed row back untouched (e.g. its recipient's rate limit says wait)."""
    with engine.begin() as conn:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == row_id, OUTBOX.c.status == OutboxStatus.SENDING.value,
                   OUTBOX.c.claimed_by == worker_id[:64])
            .values(status=OutboxStatus.QUEUED.value, not_before=not_before, claimed_by=None, claimed_at=None,
                    updated_at=now)
        )


def stale_sending(engine: Engine, lease_timeout_s: float, now: datetime, limit: int = 500) -> list[int]:
    """Rows left in `sending` longer than the lease: their worker died or hung. Reconciled, never resent blindly."""
    cutoff = now - timedelta(seconds=lease_timeout_s)
    with engine.connect() as conn:
        return list(conn.scalars(
            select(OUTBOX.c.id)
            .where(and_(OUTBOX.c.status == OutboxStatus.SENDING.value, OUTBOX.c.claimed_at < cutoff))
            .order_by(OUTBOX.c.id)
            .limit(limit)
        ))
