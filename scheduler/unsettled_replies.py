"""Replies left in `sending`: bot and officer replies pass the gate without an outbox row, so the outbox reconciler
never sees them.

The gate records such a message as `sending` before it calls the channel and marks it sent in a second
transaction. If the process dies, or the database is unreachable, between the provider's answer and that mark,
the message would stay in `sending` for ever: counted against the caps (it may have gone out) but shown to
compliance staff as neither sent nor failed. Past the dispatcher's lease it is settled like an outbox row: the
provider is asked where Accord knows the provider's id; otherwise it is flagged for review. It is never resent: a
chat reply sent late, or twice, is worse than one a person looks at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.audit_link import append_audit
from core.enums import Direction, MessageStatus
from scheduler.claim import DISPATCHER_AUTHOR
from storage.db import transaction
from storage.tables import Message

_BATCH = 500

_UNSETTLED = (
    select(Message.id)
    .where(Message.status == MessageStatus.SENDING.value, Message.direction == Direction.OUTBOUND.value,
           Message.author != DISPATCHER_AUTHOR)  # the outbox reconciler settles those from their rows
    .order_by(Message.created_at)
)


def settle_unsettled_replies(sessions: sessionmaker[Session], now: datetime, lease_timeout_s: float,
                             ask_provider: Callable[[Message], str]) -> Counter[str]:
    """Settle replies in `sending` for longer than the lease; returns counts by outcome ("reply_sent",
    "reply_failed", "reply_review")."""
    cutoff = now - timedelta(seconds=lease_timeout_s)
    with sessions() as session:
        ids = list(session.scalars(_UNSETTLED.where(Message.created_at < cutoff).limit(_BATCH)))
    results: Counter[str] = Counter()
    for message_id in ids:
        with transaction(sessions) as session:
            message = session.get(Message, message_id, with_for_update=True)
            if message is None or message.status != MessageStatus.SENDING.value:
                continue  # settled meanwhile (a late "sent" mark, another worker)
            status = ask_provider(message) if message.provider_message_id else message.status
            if status == MessageStatus.SENDING.value:
                message.status = MessageStatus.REVIEW.value
                message.error_code = "unknown_outcome"
                status = MessageStatus.REVIEW.value
            append_audit(session, kind=f"message.{status}", actor="reconciler", subject_type="message",
                         subject_id=message.id,
                         payload={"reconciled": True, "author": message.author,
                                  "detail": "no provider answer was recorded for this reply"}, at=now)
            results[f"reply_{status}"] += 1
    return results
