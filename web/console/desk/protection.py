"""What an officer does with protective states: set one with its evidence, confirm or dismiss a proposal, decide
how one ends. The rules live in compliance/protection*.py (which records the audit events and cancels queued
messages); this module turns console forms into those calls and adds what the desk owes afterwards, the
validation notice after a rejected dispute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.packs import Pack
from compliance.protection import confirm, set_state
from compliance.protection_lifecycle import LiftError, lift
from core.enums import MessagePurpose
from core.protection import (
    ADDRESS_KINDS,
    OUTCOMES,
    LiftOutcome,
    ProtectiveKind,
    SetBy,
    StateStatus,
    VulnerabilityDriver,
)
from storage.tables import Cardholder, Conversation, Message, OutboxItem, ProtectiveState

# What an officer may set from the console. A channel opt-out is the cardholder's own keyword (STOP) and is
# lifted by START, so it is not offered here.
SETTABLE: tuple[ProtectiveKind, ...] = (
    ProtectiveKind.ATTORNEY, ProtectiveKind.BANKRUPTCY, ProtectiveKind.DISPUTE, ProtectiveKind.DECEASED,
    ProtectiveKind.DISTRESS, ProtectiveKind.VULNERABILITY, ProtectiveKind.CEASE, ProtectiveKind.STOP_ALL_CONTACT,
    ProtectiveKind.THIRD_PARTY, ProtectiveKind.PAYMENT_CLAIMED,
)

# Dismissing a proposal is a decision like any other; only these kinds have an outcome that means "not so".
DISMISS: dict[ProtectiveKind, LiftOutcome] = {ProtectiveKind.VULNERABILITY: LiftOutcome.VULNERABILITY_DISMISSED}

VALIDATION_TEMPLATE = "dispute.validation_notice"


class ProtectionError(ValueError):
    """A form the service cannot act on; the message is shown to the officer."""


@dataclass(frozen=True)
class StateForm:
    kind: str
    reason: str
    message_id: int | None = None
    attorney_name: str = ""
    attorney_contact: str = ""
    case_number: str = ""
    court: str = ""
    driver: str = ""
    note: str = ""
    # The outcome form's quick "do not contact" has no evidence fields; the panel's form always asks for them.
    require_evidence: bool = True


def may_act(held_by: str | None, username: str, role: str) -> bool:
    """The officer holding the conversation, or a supervisor: a lift the pack reserves for supervisors must be
    possible without taking the case away from the officer who holds it."""
    return held_by == username or role == "supervisor"


def actor_of(username: str) -> str:
    return f"officer:{username}"


def evidence_of(s: Session, conv: Conversation, form: StateForm) -> dict[str, Any]:
    """The evidence a state of this kind needs, checked: an attorney has a name and a contact, a bankruptcy a
    case number, a vulnerability one of the FCA's four drivers. The message must be in this conversation."""
    kind = ProtectiveKind(form.kind)
    evidence: dict[str, Any] = {"conversation_id": conv.id}
    if form.message_id is not None:
        in_thread = s.scalar(select(Message.id).where(Message.id == form.message_id,
                                                      Message.conversation_id == conv.id))
        if in_thread is None:
            raise ProtectionError(f"message {form.message_id} is not in this conversation")
        evidence["message_id"] = form.message_id
    if kind is ProtectiveKind.ATTORNEY:
        if form.require_evidence and (not form.attorney_name.strip() or not form.attorney_contact.strip()):
            raise ProtectionError("an attorney needs a name and a contact")
        evidence.update(attorney_name=form.attorney_name.strip() or None,
                        attorney_contact=form.attorney_contact.strip() or None)
    elif kind is ProtectiveKind.BANKRUPTCY:
        if form.require_evidence and not form.case_number.strip():
            raise ProtectionError("a bankruptcy needs its case number")
        evidence.update(case_number=form.case_number.strip() or None, court=form.court.strip() or None)
    elif kind is ProtectiveKind.VULNERABILITY and (form.require_evidence or form.driver):
        try:
            evidence["driver"] = VulnerabilityDriver(form.driver).value
        except ValueError as exc:
            raise ProtectionError("a vulnerability needs its driver: "
                                  + ", ".join(d.value for d in VulnerabilityDriver)) from exc
    if form.note.strip():
        evidence["note"] = form.note.strip()
    return {key: value for key, value in evidence.items() if value is not None}


def set_from_console(s: Session, conv: Conversation, form: StateForm, username: str, now: datetime,
                     pack: Pack | None, account_id: int | None = None) -> ProtectiveState | None:
    """Set a state for this conversation's cardholder (an address kind: on this conversation's address). None
    when the same state is already in force; a matching proposal is confirmed instead."""
    try:
        kind = ProtectiveKind(form.kind)
    except ValueError as exc:
        raise ProtectionError(f"unknown protective state {form.kind!r}") from exc
    if kind not in SETTABLE:
        raise ProtectionError(f"{kind.value} is not set from the console")
    if not form.reason.strip():
        raise ProtectionError("a reason is required to set a protective state")
    evidence = evidence_of(s, conv, form)
    point = conv.contact_point_id if kind in ADDRESS_KINDS else None
    if point is None and kind in ADDRESS_KINDS:
        raise ProtectionError(f"{kind.value} needs the conversation's address, and it has none")
    return set_state(s, cardholder_id=conv.cardholder_id, kind=kind, set_by=SetBy.OFFICER,
                     actor=actor_of(username), at=now, reason=form.reason.strip(), pack=pack, evidence=evidence,
                     contact_point_id=point, account_id=account_id or _only_account(s, conv))


def state_of(s: Session, conv: Conversation, state_id: int) -> ProtectiveState:
    """The state, if it belongs to this conversation's cardholder: a form on one case never decides another's."""
    state = s.get(ProtectiveState, state_id)
    if state is None or state.cardholder_id != conv.cardholder_id:
        raise ProtectionError(f"no protective state {state_id} on this case")
    return state


def confirm_proposal(s: Session, conv: Conversation, state_id: int, username: str, now: datetime,
                     pack: Pack | None) -> ProtectiveState:
    state = state_of(s, conv, state_id)
    if state.status != StateStatus.PROPOSED.value:
        raise ProtectionError(f"{state.kind} state {state_id} is not waiting for confirmation")
    return confirm(s, state, actor=actor_of(username), at=now, pack=pack)


def decide(s: Session, conv: Conversation, state_id: int, *, outcome: str, reason: str, username: str, role: str,
           now: datetime, pack: Pack, resume_on: date | None = None) -> tuple[ProtectiveState, OutboxItem | None]:
    """End a state by `lift` (which checks the outcome, the reason and who may decide, and audits it). A rejected
    dispute also queues the validation notice, which the gate lets through while the dispute is still obeyed.
    Returns the state and the queued notice, if any."""
    state = state_of(s, conv, state_id)
    if ProtectiveKind(state.kind) not in SETTABLE:  # a channel opt-out ends by the cardholder's START, not here
        raise ProtectionError(f"{state.kind} is not decided from the console")
    notice = None
    if outcome == LiftOutcome.DISPUTE_REJECTED.value and state.status != StateStatus.LIFTED.value:
        # Queued before the decision so that lift's audit append stays the last write before the commit (the
        # audit head is held from the append to the commit); taken back below if the decision is refused.
        notice = queue_validation_notice(s, conv, state, now)
    try:
        decided = lift(s, state.id, outcome=outcome, actor=actor_of(username), role=role, reason=reason, at=now,
                       pack=pack, resume_on=resume_on)
    except LiftError as exc:
        if notice is not None:
            s.delete(notice)
            s.flush()
        raise ProtectionError(str(exc)) from exc
    return decided, notice


def queue_validation_notice(s: Session, conv: Conversation, state: ProtectiveState,
                            now: datetime) -> OutboxItem | None:
    """Queue `dispute.validation_notice` on this conversation's address; the dispatcher takes it through the
    compliance gate like any other message. One per state (its idempotency key): None when already queued."""
    holder = s.get(Cardholder, conv.cardholder_id)
    assert holder is not None
    key = f"validation-notice:{state.id}"
    if s.scalar(select(OutboxItem.id).where(OutboxItem.idempotency_key == key)) is not None:
        return None
    item = OutboxItem(
        idempotency_key=key, cardholder_id=holder.id, account_id=state.account_id or _only_account(s, conv),
        conversation_id=conv.id,
        contact_point_id=conv.contact_point_id, channel=conv.channel,
        purpose=MessagePurpose.VALIDATION_NOTICE.value, template_id=VALIDATION_TEMPLATE, language=holder.language,
        priority=20, params={}, not_before=now, status="queued", created_at=now, updated_at=now)
    s.add(item)
    s.flush()
    return item


def _only_account(s: Session, conv: Conversation) -> int | None:
    # States cover the person; the account is evidence of what the statement was about, so it is recorded only
    # when there is no doubt which one.
    holder = s.get(Cardholder, conv.cardholder_id)
    return holder.accounts[0].id if holder is not None and len(holder.accounts) == 1 else None


def outcomes_for(kind: str) -> tuple[LiftOutcome, ...]:
    return OUTCOMES[ProtectiveKind(kind)]
