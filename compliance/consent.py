"""State changes the gate obeys: opt-out and re-subscribe, consent, cease requests, third parties, verification.
Attorney, bankruptcy, dispute, distress and the other protective states are set by compliance/protection.py.

Each runs in the caller's transaction, locks the row it changes (FOR UPDATE on PostgreSQL), appends one audit
event, and returns whether anything changed. A repeated call changes nothing and appends nothing, which is how
the inbound pipeline sends exactly one confirmation for a repeated STOP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.packs import Pack
from compliance.protection import set_state
from compliance.protection_lifecycle import lift_address_state
from core.clock import ensure_utc
from core.enums import ConsentBasis, ContactPointStatus, OptOutMethod
from core.protection import LiftOutcome, ProtectiveKind, SetBy
from storage.tables import ContactPoint, Conversation


def _locked(session: Session, model: Any, row_id: int) -> Any:
    row = session.scalars(select(model).where(model.id == row_id).with_for_update()).first()
    if row is None:
        raise LookupError(f"no {model.__tablename__} row with id {row_id}")
    return row


def _at(at: datetime | None) -> datetime:
    if at is None:
        raise ValueError("at: the time of the change is required (time is an input)")
    return ensure_utc(at)


def record_opt_out(session: Session, contact_point_id: int, method: OptOutMethod | str = OptOutMethod.KEYWORD,
                   at: datetime | None = None, actor: str = "cardholder", *,
                   source_message_id: int | None = None, pack: Pack | None = None) -> bool:
    """Stop this address at once. The gate then allows exactly one opt_out.confirmation on it, nothing else.
    The address's opted_out_at is the fast flag the sweep reads; the channel_opt_out state is its history."""
    when, how = _at(at), OptOutMethod(method)
    point = _locked(session, ContactPoint, contact_point_id)
    if point.opted_out_at is not None:
        return False
    point.opted_out_at, point.opted_out_method, point.updated_at = when, how.value, when
    audit.append(session, actor, "consent.opted_out", "contact_point", point.id,
                 {"cardholder_id": point.cardholder_id, "channel": point.channel, "method": how.value,
                  "source_message_id": source_message_id}, at=when)
    origin = SetBy.PROVIDER if how is OptOutMethod.CARRIER else (
        SetBy.OFFICER if how is OptOutMethod.OFFICER else SetBy.CARDHOLDER)
    set_state(session, cardholder_id=point.cardholder_id, kind=ProtectiveKind.CHANNEL_OPT_OUT, set_by=origin,
              actor=actor, at=when, reason=f"opted out on {point.channel} ({how.value})", pack=pack,
              evidence={"message_id": source_message_id, "method": how.value, "channel": point.channel},
              contact_point_id=point.id)
    return True


def record_resubscribe(session: Session, contact_point_id: int, at: datetime | None = None,
                       actor: str = "cardholder", *, source_message_id: int | None = None) -> bool:
    """START after an opt-out. An address with no consent basis gets the cardholder's own request as one."""
    when = _at(at)
    point = _locked(session, ContactPoint, contact_point_id)
    if point.opted_out_at is None:
        return False
    previous = {"opted_out_at": point.opted_out_at, "method": point.opted_out_method}
    point.opted_out_at, point.opted_out_method, point.updated_at = None, None, when
    if point.consent_basis is None:
        point.consent_basis, point.consent_at = ConsentBasis.CARDHOLDER_INITIATED.value, when
    audit.append(session, actor, "consent.resubscribed", "contact_point", point.id,
                 {"cardholder_id": point.cardholder_id, "channel": point.channel, "previous": previous,
                  "consent_basis": point.consent_basis, "source_message_id": source_message_id}, at=when)
    lift_address_state(session, point.id, ProtectiveKind.CHANNEL_OPT_OUT, outcome=LiftOutcome.RESUBSCRIBED,
                       actor=actor, reason="START after STOP", at=when)
    return True


def record_consent(session: Session, contact_point_id: int, basis: ConsentBasis | str, at: datetime | None = None,
                   actor: str = "system") -> bool:
    when, value = _at(at), ConsentBasis(basis).value
    point = _locked(session, ContactPoint, contact_point_id)
    if point.consent_basis == value:
        return False
    previous = point.consent_basis
    point.consent_basis, point.consent_at, point.updated_at = value, when, when
    audit.append(session, actor, "consent.recorded", "contact_point", point.id,
                 {"cardholder_id": point.cardholder_id, "basis": value, "previous": previous}, at=when)
    return True


def record_cease_request(session: Session, cardholder_id: int, pack: Pack, at: datetime | None = None,
                         actor: str = "cardholder", *, channel: str | None = None,
                         source_message_id: int | None = None, set_by: SetBy = SetBy.BOT) -> ProtectiveKind | None:
    """The person asked us to stop contacting them: a cease request where the pack has one (only its allowed
    messages go out after), else a stop of all contact. Returns the state set, None when it was already so."""
    when = _at(at)
    kind = ProtectiveKind.CEASE if pack.cease.request_means == "cease" else ProtectiveKind.STOP_ALL_CONTACT
    state = set_state(session, cardholder_id=cardholder_id, kind=kind, set_by=set_by, actor=actor, at=when,
                      reason="asked us to stop contacting them", pack=pack,
                      evidence={"message_id": source_message_id, "channel": channel})
    return kind if state is not None else None


def mark_verified(session: Session, *, conversation_id: int | None = None, contact_point_id: int | None = None,
                  at: datetime | None = None, actor: str = "bot", method: str = "knowledge") -> bool:
    """Right-party verification passed (e.g. card digits and birth year, or a binding link from the registered
    phone). Marks the conversation and/or the address; account details may go out on them from now on."""
    when = _at(at)
    if conversation_id is None and contact_point_id is None:
        raise ValueError("mark_verified needs a conversation_id or a contact_point_id")
    changed = False
    if conversation_id is not None:
        conversation = _locked(session, Conversation, conversation_id)
        if not conversation.verified:
            conversation.verified, changed = True, True
    if contact_point_id is not None:
        point = _locked(session, ContactPoint, contact_point_id)
        if not point.verified:
            point.verified, point.verified_at, point.updated_at, changed = True, when, when, True
    if changed:
        subject = ("conversation", conversation_id) if conversation_id is not None else ("contact_point", contact_point_id)
        audit.append(session, actor, "verification.passed", subject[0], str(subject[1]),
                     {"conversation_id": conversation_id, "contact_point_id": contact_point_id, "method": method},
                     at=when)
    return changed


def mark_third_party(session: Session, conversation_id: int, at: datetime | None = None, actor: str = "bot", *,
                     pack: Pack | None = None, source_message_id: int | None = None,
                     reason: str = "the person said they are not the cardholder") -> bool:
    """The person says they are someone else (or the number is wrong): no account details go out in this
    conversation, ever, and the address itself is marked as reaching someone else until an officer clears it."""
    when = _at(at)
    conversation = _locked(session, Conversation, conversation_id)
    changed = not conversation.third_party
    if changed:
        conversation.third_party, conversation.verified = True, False
        audit.append(session, actor, "verification.third_party", "conversation", conversation.id,
                     {"cardholder_id": conversation.cardholder_id,
                      "contact_point_id": conversation.contact_point_id}, at=when)
    state = set_state(session, cardholder_id=conversation.cardholder_id, kind=ProtectiveKind.THIRD_PARTY,
                      set_by=SetBy.BOT if actor == "bot" else SetBy.OFFICER, actor=actor, at=when, reason=reason,
                      pack=pack, evidence={"message_id": source_message_id, "conversation_id": conversation.id},
                      contact_point_id=conversation.contact_point_id)
    return changed or state is not None


def mark_contact_point_invalid(session: Session, contact_point_id: int, reason: str, at: datetime | None = None,
                               actor: str = "system") -> bool:
    when = _at(at)
    point = _locked(session, ContactPoint, contact_point_id)
    if point.status == ContactPointStatus.INVALID.value:
        return False
    point.status, point.status_reason, point.updated_at = ContactPointStatus.INVALID.value, reason[:64], when
    audit.append(session, actor, "contact_point.invalid", "contact_point", point.id,
                 {"cardholder_id": point.cardholder_id, "channel": point.channel, "reason": reason}, at=when)
    return True
