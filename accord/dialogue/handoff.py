"""Leaving the bot: escalations to officers, protective states, wrong numbers, third parties and opt-outs.

An escalation puts the conversation in the officer's hands (state "officer") and tells the action to pause the
Rasa tracker; `accord.dialogue.handback.resume_bot` undoes both when an officer hands the conversation back.
What the person told us that must protect them (a lawyer, a bankruptcy, a dispute, distress, "I already paid",
"stop contacting me", "this is not them") becomes a protective state in the same transaction, so the sweep, the
follow-ups, queued messages and the gate obey it from that commit on (compliance/protection.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.dialogue.party import Party, TurnOutcome
from bot import consent_actions
from bot.audit_link import append_audit
from bot.escalations import open_escalation
from compliance.consent import mark_third_party, record_cease_request
from compliance.packs import Pack
from compliance.protection import active_facts, set_state
from core.enums import ContactPointStatus, ConversationState, Direction, EscalationReason, OptOutMethod
from core.protection import ProtectiveKind, SetBy
from storage.tables import Escalation, Message

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


# The escalations whose reason is itself a protective state.
_STATE_OF: dict[EscalationReason, ProtectiveKind] = {
    EscalationReason.ATTORNEY: ProtectiveKind.ATTORNEY,
    EscalationReason.BANKRUPTCY: ProtectiveKind.BANKRUPTCY,
}


def protect(session: Session, party: Party, kind: ProtectiveKind, reason: str, *, now: datetime, pack: Pack | None,
            **evidence: Any) -> None:
    """The bot records what the person said as a protective state, with the message that said it."""
    set_state(session, cardholder_id=party.cardholder.id, kind=kind, set_by=SetBy.BOT, actor="bot", at=now,
              reason=reason, pack=pack, account_id=party.account.id if party.account else None,
              evidence={"message_id": last_inbound_id(session, party), "conversation_id": party.conversation.id,
                        **evidence})


def last_inbound_id(session: Session, party: Party) -> int | None:
    return session.scalar(select(func.max(Message.id)).where(
        Message.conversation_id == party.conversation.id, Message.direction == Direction.INBOUND.value))


def hand_over(session: Session, party: Party, reason: EscalationReason, *, now: datetime,
              detail: dict[str, Any] | None = None, pack: Pack | None = None) -> TurnOutcome:
    kind = _STATE_OF.get(reason)
    if kind is not None:
        protect(session, party, kind, f"the person said: {reason.value}", now=now, pack=pack)
    escalation = escalate(session, party, reason, now=now, detail=detail)
    outcome = TurnOutcome(pause=True, data={"escalation_id": escalation.id})
    return outcome.say(HANDOFF_TEMPLATES.get(reason, "escalation.handoff"))


def distress(session: Session, party: Party, *, now: datetime, pack: Pack | None = None) -> TurnOutcome:
    # The caring message goes first; the pack supplies {help_resources} for the cardholder's jurisdiction. No
    # reminder reaches a person in crisis until an officer has reviewed it and set a safe date.
    protect(session, party, ProtectiveKind.DISTRESS, "the person's words may signal a crisis", now=now, pack=pack)
    escalation = escalate(session, party, EscalationReason.DISTRESS, now=now, priority=DISTRESS_PRIORITY)
    return TurnOutcome(pause=True, data={"escalation_id": escalation.id}).say("distress.support")


def dispute(session: Session, party: Party, *, now: datetime, text: str, pack: Pack | None = None) -> TurnOutcome:
    protect(session, party, ProtectiveKind.DISPUTE, "the person disputes the debt", now=now, pack=pack)
    escalation = escalate(session, party, EscalationReason.DISPUTE, now=now, detail={"source": "dialogue"})
    return TurnOutcome(pause=True, data={"escalation_id": escalation.id}).say("dispute.acknowledged")


def already_paid(session: Session, party: Party, *, now: datetime, pack: Pack | None = None) -> TurnOutcome:
    # A payment check is a back-office review, not a conversation: the bot stays available meanwhile.
    protect(session, party, ProtectiveKind.PAYMENT_CLAIMED, "the person says they already paid", now=now, pack=pack)
    escalation = open_escalation(
        session, cardholder_id=party.cardholder.id, conversation_id=party.conversation.id,
        account_id=party.account.id if party.account else None, reason=EscalationReason.PAYMENT_CLAIMED,
        detail={"source": "dialogue"}, at=now,
    )
    return TurnOutcome(data={"escalation_id": escalation.id}).say("payment.claim_acknowledged")


def wrong_number(session: Session, party: Party, *, now: datetime, pack: Pack | None = None) -> TurnOutcome:
    point = party.contact_point
    mark_third_party(session, party.conversation.id, at=now, pack=pack, source_message_id=last_inbound_id(session, party),
                     reason="the person said this is a wrong number")
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


def third_party(session: Session, party: Party, *, now: datetime, pack: Pack | None = None) -> TurnOutcome:
    """Someone else is on the line: never verified in this conversation, and the address itself reaches someone
    else until an officer clears it, so every later message to it is limited content under every pack."""
    mark_third_party(session, party.conversation.id, at=now, pack=pack,
                     source_message_id=last_inbound_id(session, party))
    return TurnOutcome(slots={"verified": False}).say("third_party.acknowledged")


def is_third_party(session: Session, party: Party, *, now: datetime) -> bool:
    """The person here said they are someone else, or the address is marked as reaching someone else."""
    if party.conversation.third_party:
        return True

    states = active_facts(session, [party.cardholder.id], now).get(party.cardholder.id, ())
    return any(s.kind is ProtectiveKind.THIRD_PARTY and s.covers(party.contact_point.id) and s.contact_point_id
               for s in states)


def identity_claimed(session: Session, party: Party, *, now: datetime) -> TurnOutcome:
    """A third party who later says "actually it's me" goes to an officer, never back to verification."""
    escalation = escalate(session, party, EscalationReason.IDENTITY_CLAIM, now=now,
                          detail={"message_id": last_inbound_id(session, party)})
    return TurnOutcome(pause=True, slots={"verified": False},
                       data={"escalation_id": escalation.id}).say("third_party.verification_closed")


def verification_refused(party: Party) -> TurnOutcome:
    """The kind answer when a third party asks about the matter again: no verification starts."""
    return TurnOutcome(slots={"verified": False}, data={"decision": "refused"}).say("third_party.verification_closed")


def cease(session: Session, party: Party, *, now: datetime, pack: Pack) -> tuple[TurnOutcome, ProtectiveKind | None]:
    """"Stop contacting me": a cease request, or a stop of all contact where the pack has no cease right. The
    caller sends the acknowledgement (its own purpose, which the state allows once) when this changed anything."""
    kind = record_cease_request(session, party.cardholder.id, pack, at=now, actor="cardholder",
                                channel=party.contact_point.channel, source_message_id=last_inbound_id(session, party))
    party.conversation.state = ConversationState.CLOSED.value
    return TurnOutcome(pause=True, data={"state": kind.value if kind else None}), kind


def opt_out(session: Session, party: Party, *, now: datetime, pack: Pack | None = None) -> tuple[TurnOutcome, bool]:
    """Record a natural-language opt-out of this channel. The caller sends the single confirmation when this
    changed anything."""
    changed = consent_actions.record_opt_out(
        session, party.contact_point.id, at=now, method=OptOutMethod.NATURAL_LANGUAGE, actor="cardholder",
        source_message_id=last_inbound_id(session, party), pack=pack,
    )
    party.conversation.state = ConversationState.CLOSED.value
    return TurnOutcome(pause=True, data={"changed": changed}), changed


def fallback(session: Session, party: Party, *, now: datetime, in_a_row: int, limit: int) -> TurnOutcome:
    if in_a_row >= limit:
        return hand_over(session, party, EscalationReason.FALLBACK, now=now, detail={"in_a_row": in_a_row})
    return TurnOutcome().say("dialogue.fallback")
