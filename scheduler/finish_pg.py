"""Finishing a dispatcher's batch of outbox rows on PostgreSQL in one statement over arrays (`unnest`).

The portable path in reconcile.py takes three statements, two of them one row at a time (100 updates of the
outbox and up to 100 of the accounts for a batch of 100), and its `IN (...)` list is a new statement text for
every batch size. Here the batch travels as arrays, so the statement text never changes and PostgreSQL prepares
it once per connection.

The rule is the same as the portable path's: only rows still `sending` and claimed by this worker are finished
(a row whose lease ran out may have been taken over), and each reminder that went out counts once on its
account's cadence, however many of one account's reminders are in the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from core.enums import MessagePurpose, OutboxStatus

if TYPE_CHECKING:
    from scheduler.reconcile import Finish

# Built once from fixed names; no outside input reaches the statement text. `UPDATE ... FROM` re-checks the
# WHERE clause on each row after locking it, so a row taken over meanwhile is left alone, as in the portable path.
_FINISH_BATCH = text(" ".join("""
WITH f AS (
    SELECT * FROM unnest(CAST(:rows AS bigint[]), CAST(:statuses AS text[]), CAST(:errors AS text[]),
                         CAST(:attempts AS integer[]), CAST(:messages AS bigint[]),
                         CAST(:not_befores AS timestamptz[]), CAST(:touches AS boolean[]))
             AS f(row_id, status, error, attempts, message_id, not_before, touch)
), owned AS (
    UPDATE outbox o SET status = f.status, last_error = f.error, attempts = f.attempts,
        message_id = coalesce(f.message_id, o.message_id), not_before = coalesce(f.not_before, o.not_before),
        updated_at = :now
    FROM f
    WHERE o.id = f.row_id AND o.status = :sending AND o.claimed_by = :worker
    RETURNING o.id, o.account_id, f.touch AND o.purpose = :reminder AS counts
), touched AS (
    UPDATE accounts a SET last_reminder_at = :now, touches_in_stage = a.touches_in_stage + t.n
    FROM (SELECT account_id, count(*) AS n FROM owned WHERE counts AND account_id IS NOT NULL
          GROUP BY account_id) AS t
    WHERE a.id = t.account_id
)
SELECT id FROM owned
""".split()))


def finish_batch_pg(conn: Connection, worker_id: str, finishes: Sequence[Finish], now: datetime) -> set[int]:
    """Finish these rows where they are still ours; returns the ids that were."""
    return set(conn.execute(_FINISH_BATCH, {
        "rows": [f.row_id for f in finishes],
        "statuses": [f.status.value for f in finishes],
        "errors": [f.error for f in finishes],
        "attempts": [f.attempts for f in finishes],
        "messages": [f.message_id for f in finishes],
        "not_befores": [f.not_before for f in finishes],
        "touches": [f.touch for f in finishes],
        "now": now,
        "sending": OutboxStatus.SENDING.value,
        "worker": worker_id[:64],
        "reminder": MessagePurpose.REMINDER.value,
    }).scalars())
