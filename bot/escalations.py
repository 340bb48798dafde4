"""Open an escalation so an officer picks the conversation up. Lower priority numbers are served first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from core.enums import EscalationReason, EscalationStatus
from storage.tables import Escalation

# Distress and legal signals first; an engine outage is urgent (the cardholder is waiting) but not a crisis.
PRIORITY: dict[EscalationReason, int] = {
    EscalationReason.DISTRESS: 10,
    EscalationReason.ATTORNEY: 20,
    EscalationReason.BANKRUPTCY: 20,
    EscalationReason.DISPUTE: 30,
    EscalationReason.IDENTITY_CLAIM: 30,
    EscalationReason.COMPLAINT: 30,
    EscalationReason.ASK_HUMAN: 40,
    EscalationReason.DIALOGUE_UNAVAILABLE: 40,
    EscalationReason.VERIFICATION_FAILED: 50,
    EscalationReason.FALLBACK: 50,
    EscalationReason.OFFER_OUTSIDE_POLICY: 60,
    EscalationReason.VULNERABILITY_REVIEW: 60,
    EscalationReason.BALANCE_THRESHOLD: 60,
    EscalationReason.FINAL_STAGE: 70,
}


def open_escalation(
    session: Session,
    *,
    cardholder_id: int,
    conversation_id: int | None,
    account_id: int | None,
    reason: EscalationReason,
    detail: dict[str, Any],
    at: datetime,
) -> Escalation:
    escalation = Escalation(
        cardholder_id=cardholder_id,
        conversation_id=conversation_id,
        account_id=account_id,
        reason=reason.value,
        priority=PRIORITY.get(reason, 50),
        status=EscalationStatus.OPEN.value,
        detail=detail,
        created_at=at,
    )
    session.add(escalation)
    session.flush()
    return escalation
