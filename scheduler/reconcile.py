"""Finishing outbox rows, and reconciling rows a crashed or hung dispatcher left in `sending`.

A row in `sending` past its lease is never simply sent again. What the gate recorded decides:
- no message linked: the gate never reached the channel (it records the message and links it to the outbox row
  in one transaction before it calls the adapter), so the row goes back to the queue;
- a message already sent, blocked, deferred or failed: the outbox row catches up with it;
- a message with a provider id but no final status: the provider is asked (adapter.lookup);
- anything else (the send may or may not have happened): the message and the row are flagged for review.
Bot and officer replies, which have no outbox row, are settled by the same rule (scheduler/unsettled_replies.py).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from accord.bootstrap import Container
from core.enums import Channel, Direction, MessagePurpose, MessageStatus, OutboxStatus
from scheduler.claim import DISPATCHER_AUTHOR, stale_sending
from scheduler.config import SchedulerConfig
from scheduler.finish_pg import finish_batch_pg
from scheduler.unsettled_replies import settle_unsettled_replies
from storage.db import transaction
from storage.tables import Account, ComplianceDecision, Message, OutboxItem

log = logging.getLogger(__name__)

# Provider statuses that mean the message left (Twilio: queued/sending/sent/delivered; sandbox: delivered).
_PROVIDER_SENT = {"accepted", "queued", "sending", "sent", "delivered", "read"}
_PROVIDER_FAILED = {"failed", "undelivered", "canceled"}
# Clocks on different machines: look for the gate's message a little before the claim time.
_CLOCK_SKEW = timedelta(seconds=5)


class Reconciler:
    def __init__(self, container: Container, config: SchedulerConfig) -> None:
        self.container = container
        self.config = config

    def finish(
        self,
        row_id: int,
        worker_id: str,
        status: OutboxStatus,
        error: str | None,
        values: dict[str, Any] | None = None,
        *,
        touch: bool = False,
    ) -> bool:
        """Move a row this worker holds out of `sending`. False if the row was no longer ours (a reconciler took
        it over after our lease ran out): then we leave it as the reconciler set it."""
        now = self.container.clock.now()
        outbox = cast(Table, OutboxItem.__table__)
        with self.container.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # Safe to commit lazily: the gate's own records are durable, and if this bookkeeping were lost in
                # a server crash the row would sit in `sending` and be settled from them by the reconciler.
                conn.execute(text("SET LOCAL synchronous_commit = off"))
            row = conn.execute(
                update(outbox)
                .where(outbox.c.id == row_id, outbox.c.status == OutboxStatus.SENDING.value,
                       outbox.c.claimed_by == worker_id[:64])
                .values(status=status.value, last_error=error, updated_at=now, **(values or {}))
                .returning(outbox.c.purpose, outbox.c.account_id)
            ).first()
            if row is not None and touch:
                _touch_account(conn, row.purpose, row.account_id, now)
        if row is None:
            log.warning("outbox row %s was taken over before worker %s finished it", row_id, worker_id)
        return row is not None

    def finish_many(self, worker_id: str, finishes: Sequence[Finish]) -> int:
        """`finish` for a batch, in one transaction; returns how many rows were still ours (the others were taken
        over after our lease ran out and are left as the reconciler set them)."""
        if not finishes:
            return 0
        now = self.container.clock.now()
        with self.container.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET LOCAL synchronous_commit = off"))  # see finish()
                owned_ids = finish_batch_pg(conn, worker_id, finishes, now)
                mine = [f for f in finishes if f.row_id in owned_ids]
            else:
                mine = _finish_many_portable(conn, worker_id, finishes, now)
        if len(mine) < len(finishes):
            log.warning("%d outbox rows were taken over before worker %s finished them", len(finishes) - len(mine),
                        worker_id)
        return len(mine)

    def after_gate_error(self, row_id: int, worker_id: str, attempts: int, retry_at: datetime) -> str:
        """The gate raised: reconcile at once from what it recorded, rather than waiting for the lease."""
        with transaction(self.container.session_factory) as session:
            row = session.get(OutboxItem, row_id, with_for_update=True)
            if row is None or row.status != OutboxStatus.SENDING.value or row.claimed_by != worker_id[:64]:
                return "lost"
            row.attempts = attempts
            return self._settle(session, row, retry_at)

    def reconcile_stale(self, now: datetime | None = None) -> Counter[str]:
        """Reconcile every row whose lease in `sending` has run out."""
        now = now or self.container.clock.now()
        results: Counter[str] = Counter()
        for row_id in stale_sending(self.container.engine, self.config.dispatch.lease_timeout_s, now):
            try:
                with transaction(self.container.session_factory) as session:
                    row = session.get(OutboxItem, row_id, with_for_update=True)
                    if row is None or row.status != OutboxStatus.SENDING.value:
                        continue
                    results[self._settle(session, row, now)] += 1
            except Exception:
                log.exception("reconcile: outbox row %s failed", row_id)
                results["error"] += 1
        try:  # bot and officer replies have no outbox row: the same rule, from the messages table
            results.update(settle_unsettled_replies(self.container.session_factory, now,
                                                    self.config.dispatch.lease_timeout_s, self._ask_provider))
        except Exception:
            log.exception("reconcile: settling replies left in sending failed")
            results["error"] += 1
        if results:
            log.warning("reconciled outbox rows and replies left in sending", extra={"results": dict(results)})
        return results

    def _settle(self, session: Session, row: OutboxItem, retry_at: datetime) -> str:
        now = self.container.clock.now()
        message = _gate_message(session, row)
        if message is None and _unlinked_message_since(session, row):
            return _set(row, OutboxStatus.REVIEW, "no linked message, but the cardholder was messaged since", now)
        if message is None:
            # Nothing recorded: the channel was never called. Safe to queue again (or give up after max attempts).
            if row.attempts >= self.config.dispatch.max_attempts:
                return _set(row, OutboxStatus.FAILED, "gate_error: attempts exhausted", now)
            row.not_before = retry_at
            row.claimed_by = row.claimed_at = None
            return _set(row, OutboxStatus.QUEUED, "requeued: no message was recorded", now)
        row.message_id = message.id
        status = message.status
        if status == MessageStatus.SENDING.value and message.provider_message_id:
            status = self._ask_provider(message)
        if status in (MessageStatus.SENT.value, MessageStatus.DELIVERED.value):
            session.flush()
            _count_touch(session, row.id, now)
            return _set(row, OutboxStatus.SENT, None, now)
        if status == MessageStatus.BLOCKED.value:
            return _set(row, OutboxStatus.BLOCKED, "blocked (reconciled)", now)
        if status == MessageStatus.DEFERRED.value:
            row.not_before = _defer_until(session, message) or now + timedelta(minutes=15)
            return _set(row, OutboxStatus.DEFERRED, "deferred (reconciled)", now)
        if status == MessageStatus.FAILED.value:
            return _set(row, OutboxStatus.FAILED, message.error_code or "failed (reconciled)", now)
        # The send may or may not have happened: a person decides. Never a blind resend.
        message.status = MessageStatus.REVIEW.value
        return _set(row, OutboxStatus.REVIEW, "outcome unknown after a crash", now)

    def _ask_provider(self, message: Message) -> str:
        adapter = self.container.extras.get("channels", {}).get(Channel(message.channel))
        answer = None
        if adapter is not None and message.provider_message_id:
            try:
                answer = adapter.lookup(message.provider_message_id)
            except Exception:
                log.exception("reconcile: provider lookup for message %s failed", message.id)
        if answer in _PROVIDER_SENT:
            message.status = MessageStatus.SENT.value
            message.sent_at = message.sent_at or self.container.clock.now()
        elif answer in _PROVIDER_FAILED:
            message.status = MessageStatus.FAILED.value
            message.error_code = message.error_code or f"provider:{answer}"
        return message.status


def _gate_message(session: Session, row: OutboxItem) -> Message | None:
    """The message the gate recorded for this row: the gate links it (outbox.message_id) in the same transaction
    as its decision, so no link means the gate never decided and the channel was never called."""
    if row.message_id is None:
        return None
    return session.get(Message, row.message_id, with_for_update=True)


def _unlinked_message_since(session: Session, row: OutboxItem) -> bool:
    """Belt and braces for a row without a link: did the scheduler send this cardholder anything on this channel
    since the claim? If so the row is not requeued but reviewed (a person checks; nothing is sent twice)."""
    since = (row.claimed_at or row.updated_at) - _CLOCK_SKEW
    return session.scalar(
        select(Message.id)
        .where(Message.cardholder_id == row.cardholder_id, Message.direction == Direction.OUTBOUND.value,
               Message.channel == row.channel, Message.author == DISPATCHER_AUTHOR, Message.created_at >= since)
        .limit(1)
    ) is not None


def _defer_until(session: Session, message: Message) -> datetime | None:
    if message.decision_id is None:
        return None
    return session.scalar(select(ComplianceDecision.defer_until).where(ComplianceDecision.id == message.decision_id))


def _finish_many_portable(conn: Connection, worker_id: str, finishes: Sequence[Finish], now: datetime) -> list[Finish]:
    """SQLite: a write that names the rows still ours comes first and takes the database write lock before
    anything is read, so nothing can take them over half way; then the rows are finished one by one."""
    owned = {row.id: row for row in conn.execute(
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_([f.row_id for f in finishes]), _OUTBOX.c.status == OutboxStatus.SENDING.value,
               _OUTBOX.c.claimed_by == worker_id[:64])
        .values(updated_at=now)
        .returning(_OUTBOX.c.id, _OUTBOX.c.purpose, _OUTBOX.c.account_id))}
    mine = [f for f in finishes if f.row_id in owned]
    if mine:
        conn.execute(_FINISH, [f.params() for f in mine])
    touched = [{"account": owned[f.row_id].account_id, "now": now} for f in mine
               if f.touch and owned[f.row_id].purpose == MessagePurpose.REMINDER.value
               and owned[f.row_id].account_id is not None]
    if touched:
        conn.execute(_TOUCH, touched)
    return mine


def _count_touch(session: Session, row_id: int, now: datetime) -> None:
    purpose, account_id = session.execute(
        select(OutboxItem.purpose, OutboxItem.account_id).where(OutboxItem.id == row_id)
    ).one()
    _touch_account(session, purpose, account_id, now)


@dataclass(frozen=True, slots=True)
class Finish:
    """How a dispatcher leaves one row it holds: its new status and what it learnt."""

    row_id: int
    status: OutboxStatus
    error: str | None
    attempts: int
    message_id: int | None
    not_before: datetime | None = None
    touch: bool = False  # a reminder went out: count it on the account's cadence

    def params(self) -> dict[str, Any]:
        return {"row": self.row_id, "status": self.status.value, "error": self.error, "attempts": self.attempts,
                "message": self.message_id, "not_before": self.not_before}


_OUTBOX = cast(Table, OutboxItem.__table__)
_FINISH = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row")).values(
    status=bindparam("status"), last_error=bindparam("error"), attempts=bindparam("attempts"),
    message_id=func.coalesce(bindparam("message", type_=_OUTBOX.c.message_id.type), _OUTBOX.c.message_id),
    not_before=func.coalesce(bindparam("not_before", type_=_OUTBOX.c.not_before.type), _OUTBOX.c.not_before))
_ACCOUNTS = cast(Table, Account.__table__)
_TOUCH = update(_ACCOUNTS).where(_ACCOUNTS.c.id == bindparam("account")).values(
    last_reminder_at=bindparam("now"), touches_in_stage=_ACCOUNTS.c.touches_in_stage + 1)


def _touch_account(bind: Session | Connection, purpose: str, account_id: int | None, now: datetime) -> None:
    """A reminder went out: the cadence counts it (last reminder, touches in this stage)."""
    if purpose == MessagePurpose.REMINDER.value and account_id is not None:
        bind.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(last_reminder_at=now, touches_in_stage=Account.touches_in_stage + 1)
            .execution_options(synchronize_session=False)
        )


def _set(row: OutboxItem, status: OutboxStatus, error: str | None, now: datetime) -> str:
    row.status = status.value
    row.last_error = error
    row.updated_at = now
    return status.value
