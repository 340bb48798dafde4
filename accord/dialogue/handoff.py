"""Leaving the bot: escalations to officers, paused reminders, wrong numbers, third parties and opt-outs.

An escalation puts the conversation in the officer's hands (state "officer") and tells the action to pause the
Rasa tracker; `accord.dialogue.handback.resume_bot` undoes both when an officer hands the conversation back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.dialogue.party import Party, TurnOutcome
from bot import consent_actions
from bot.audit_link import append_audit
from bot.escalations import open_escalation
from core.enums import ContactPointStatus, ConversationState, EscalationReason, OptOutMethod
from storage.tables import Escalation

DISTRESS_PRIORITY = 0  # above every other escalation, including the default distress priority

# The reply that tells the cardholder who takes over, by the reason they gave.
HANDOFF_TEMPLATES: dict[EscalationReason, str] = {
    EscalationReason.ASK_HUMAN: "escalation.handoff",
    EscalationReason.ATTORNEY: "handoff.attorney",
    EscalationReason.BANKRUPTCY: "handoff.bankruptcy",
    EscalationReason.COMPLAINT: "handoff.complaint",
    EscalationReason.FALLBACK: "escalation.handoff",
    EscalationReason.BALANCE_THRESHOLD: "handoff.plan_by_officer",
}


def escalate(
    session: Session, party: Party, reason: EscalationReason, *, now: datetime, detail: dict[str, Any] | None = None,
    priority: int | None = None,
) -> Escalation:
    escalation = open_escalation(
        session,
        cardholder_id=party.cardholder.id,
        conversation_id=party.conversation.id,
        account_id=party.account.id if party.account else None,
        reason=reason,
        detail=detail or {},
        at=now,
    )
    if priority is not None:
        escalation.priority = priority
    party.conversation.state = ConversationState.OFFICER.value
    party.conversation.held_by = None
    append_audit(
        session, kind="escalation.opened", actor="bot", subject_type="conversation",
        subject_id=str(party.conversation.id),
        payload={"escalation_id": escalation.id, "reason": reason.value, "priority": escalation.priority},
        at=now,
    )
    return escalation


def hand_over(session: Session, party: Party, reason: EscalationReason, *, now: datetime,
              detail: dict[str, Any] | None = None) -> TurnOutcome:
    escalation = escalate(session, party, reason, now=now, detail=detail)
    outcome = TurnOutcome(pause=True, data={"escalation_id": escalation.id})
    return outcome.say(HANDOFF_TEMPLATES.get(reason, "escalation.handoff"))


def distress(session: Session, party: Party, *, now: datetime) -> TurnOutcome:
    # The caring message goes first; the pack supplies {help_resources} for the cardholder's jurisdiction.
    escalation = escalate(session, party, EscalationReason.DISTRESS, now=now, priority=DISTRESS_PRIORITY)
    return TurnOutcome(pause=True, data={"escalation_id": escalation.id}).say("distress.support")


def _pause_reminders(session: Session, party: Party, reason: str, now: datetime) -> None:
    if party.account is None:
        return
    party.account.reminders_paused_reason = reason
    party.account.updated_at = now
    append_audit(
        session, kind="account.reminders_paused", actor="bot", subject_type="account",
        subject_id=str(party.account.id), payload={"reason": reason, "conversation_id": party.conversation.id},
        at=now,
    )


def dispute(session: Session, party: Party, *, now: datetime, text: str) -> TurnOutcome:
    _pause_reminders(session, party, "dispute", now)
    escalation = escalate(session, party, EscalationReason.DISPUTE, now=now, detail={"source": "dialogue"})
    return TurnOutcome(pause=True, data={"escalation_id": escalation.id}).say("dispute.acknowledged")


def already_paid(session: Session, party: Party, *, now: datetime) -> TurnOutcome:
    # A payment check is a back-office review, not a conversation: the bot stays available meanwhile.
    _pause_reminders(session, party, "payment_claimed", now)
    escalation = open_escalation(
        session, cardholder_id=party.cardholder.id, conversation_id=party.conversation.id,
        account_id=party.account.id if party.account else None, reason=EscalationReason.PAYMENT_CLAIMED,
        detail={"source": "dialogue"}, at=now,
    )
    return TurnOutcome(data={"escalation_id": escalation.id}).say("payment.claim_acknowledged")


def wrong_number(session: Session, party: Party, *, now: datetime) -> TurnOutcome:
    point = party.contact_point
    point.status = ContactPointStatus.REVIEW.value
    point.status_reason = "wrong_number"
    point.updated_at = now
    party.conversation.state = ConversationState.CLOSED.value
    append_audit(
        session, kind="contact_point.review", actor="bot", subject_type="contact_point", subject_id=str(point.id),
        payload={"reason": "wrong_number", "conversation_id": party.conversation.id}, at=now,
    )
    open_escalation(
        session, cardholder_id=party.cardholder.id, conversation_id=party.conversation.id, account_id=None,
        reason=EscalationReason.WRONG_NUMBER, detail={"contact_point_id": point.id}, at=now,
    )
    return TurnOutcome(pause=True).say("wrong_number.acknowledged")


def third_party(session: Session, party: Party, *, now: datetime) -> TurnOutcome:
    party.conversation.third_party = True
    party.conversation.verified = False
    append_audit(
        session, kind="conversation.third_party", actor="bot", subject_type="conversation",
        subject_id=str(party.conversation.id), payload={}, at=now,
    )
    return TurnOutcome(slots={"verified": False}).say("third_party.acknowledged")


def opt_out(session: Session, party: Party, *, now: datetime) -> tuple[TurnOutcome, bool]:
    """Record a natural-language opt-out. The caller sends the single confirmation when this changed anything."""
    changed = consent_actions.record_opt_out(
        session, party.contact_point.id, at=now, method=OptOutMethod.NATURAL_LANGUAGE, actor="cardholder",
    )
    party.conversation.state = ConversationState.CLOSED.value
    return TurnOutcome(pause=True, data={"changed": changed}), changed


def fallback(session: Session, party: Party, *, now: datetime, in_a_row: int, limit: int) -> TurnOutcome:
    if in_a_row >= limit:
        return hand_over(session, party, EscalationReason.FALLBACK, now=now, detail={"in_a_row": in_a_row})
    return TurnOutcome().say("dialogue.fallback")
