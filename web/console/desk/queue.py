"""The escalation queue and claiming.

Claiming is one conditional UPDATE per row (`... WHERE status = 'open'`, then `... WHERE held_by IS NULL`),
so of two officers pressing "claim" at once exactly one sees a changed row; the other is told and nothing moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import case, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from core.enums import ConversationState, EscalationStatus
from storage.tables import Account, Cardholder, Conversation, Escalation
from web.console.config import ConsoleConfig
from web.console.masking import Viewer, display_name

QUEUE_LIMIT = 200


@dataclass(frozen=True)
class QueueItem:
    escalation_id: int
    conversation_id: int | None
    reason: str
    status: str
    claimed_by: str | None
    cardholder: str
    account: str | None
    language: str
    waiting: timedelta
    sla: timedelta
    late: bool


def urgency_order(config: ConsoleConfig) -> Any:
    whens = [(Escalation.reason == reason, rank) for rank, reason in enumerate(config.urgency)]
    return case(*whens, else_=len(config.urgency))


def open_queue(s: Session, config: ConsoleConfig, now: datetime, viewer: Viewer) -> list[QueueItem]:
    rows = s.execute(
        select(Escalation, Cardholder.full_name, Cardholder.language, Account.external_id)
        .join(Cardholder, Cardholder.id == Escalation.cardholder_id)
        .outerjoin(Account, Account.id == Escalation.account_id)
        .where(Escalation.status.in_([EscalationStatus.OPEN, EscalationStatus.CLAIMED]))
        .order_by(urgency_order(config), Escalation.priority, Escalation.created_at, Escalation.id)
        .limit(QUEUE_LIMIT)
    ).all()
    items = []
    for esc, name, language, account in rows:
        waited_until = esc.claimed_at or now
        waiting = now - esc.created_at
        sla = timedelta(minutes=config.sla_for(esc.reason))
        items.append(QueueItem(
            escalation_id=esc.id, conversation_id=esc.conversation_id, reason=esc.reason, status=esc.status,
            claimed_by=esc.claimed_by, cardholder=display_name(name, viewer), account=account,
            language=language, waiting=waiting, sla=sla, late=(waited_until - esc.created_at) > sla,
        ))
    return items


class ClaimLost(Exception):
    """Someone else holds the escalation or its conversation."""


def claim(s: Session, escalation_id: int, username: str, now: datetime) -> Escalation:
    """Claim an open escalation and the conversation behind it, atomically, or raise ClaimLost."""
    won = cast(CursorResult[Any], s.execute(
        update(Escalation)
        .where(Escalation.id == escalation_id, Escalation.status == EscalationStatus.OPEN)
        .values(status=EscalationStatus.CLAIMED, claimed_by=username, claimed_at=now)
        .execution_options(synchronize_session=False)
    )).rowcount
    if won != 1:
        raise ClaimLost(escalation_id)
    esc = s.get(Escalation, escalation_id, populate_existing=True)
    assert esc is not None
    if esc.conversation_id is not None:
        held = cast(CursorResult[Any], s.execute(
            update(Conversation)
            .where(Conversation.id == esc.conversation_id,
                   or_(Conversation.held_by.is_(None), Conversation.held_by == username))
            .values(held_by=username, state=ConversationState.OFFICER)
            .execution_options(synchronize_session=False)
        )).rowcount
        if held != 1:
            raise ClaimLost(escalation_id)  # the caller's transaction rolls the escalation back too
    return esc


def my_conversations(s: Session, username: str) -> list[int]:
    return list(s.scalars(select(Conversation.id).where(Conversation.held_by == username)
                          .order_by(Conversation.last_message_at.desc()).limit(50)))
