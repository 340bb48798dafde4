"""State changes the gate obeys: opt-out and re-subscribe, consent, cease requests, do-not-contact, verification.

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
from core.clock import ensure_utc
from core.enums import ConsentBasis, ContactPointStatus, DoNotContact, OptOutMethod
from storage.tables import Cardholder, ContactPoint, Conversation


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
                   source_message_id: int | None = None) -> bool:
    """Stop this address at once. The gate then allows exactly one opt_out.confirmation on it, nothing else."""
    when, how = _at(at), OptOutMethod(method)
    point = _locked(session, ContactPoint, contact_point_id)
    if point.opted_out_at is not None:
        return False
    point.opted_out_at, point.opted_out_method, point.updated_at = when, how.value, when
    audit.append(session, actor, "consent.opted_out", "contact_point", point.id,
                 {"cardholder_id": point.cardholder_id, "channel": point.channel, "method": how.value,
                  "source_message_id": source_message_id}, at=when)
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


def record_cease_request(session: Session, cardholder_id: int, at: datetime | None = None, actor: str = "cardholder",
                         *, channel: str | None = None, source_message_id: int | None = None) -> bool:
    """The cardholder asked to stop all contact: only what the pack's `cease` section allows goes out after."""
    when = _at(at)
    holder = _locked(session, Cardholder, cardholder_id)
    if holder.cease_requested_at is not None:
        return False
    holder.cease_requested_at, holder.updated_at = when, when
    audit.append(session, actor, "cease.requested", "cardholder", holder.id,
                 {"channel": channel, "source_message_id": source_message_id}, at=when)
    return True


def set_do_not_contact(session: Session, cardholder_id: int, state: DoNotContact | str | None,
                       at: datetime | None = None, actor: str = "system", *, note: str | None = None) -> bool:
    """Attorney-represented, bankruptcy, dispute pending or deceased; None clears it. Blocks what the pack says."""
    when = _at(at)
    value = DoNotContact(state).value if state is not None else None
    holder = _locked(session, Cardholder, cardholder_id)
    if holder.do_not_contact == value:
        return False
    previous = holder.do_not_contact
    holder.do_not_contact, holder.do_not_contact_at, holder.updated_at = value, when if value else None, when
    kind = "do_not_contact.set" if value else "do_not_contact.cleared"
    audit.append(session, actor, kind, "cardholder", holder.id,
                 {"state": value, "previous": previous, "note": note}, at=when)
    return True


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


def mark_third_party(session: Session, conversation_id: int, at: datetime | None = None, actor: str = "bot") -> bool:
    """The person says they are someone else: no account details go out in this conversation, ever."""
    when = _at(at)
    conversation = _locked(session, Conversation, conversation_id)
    if conversation.third_party:
        return False
    conversation.third_party, conversation.verified = True, False
    audit.append(session, actor, "verification.third_party", "conversation", conversation.id,
                 {"cardholder_id": conversation.cardholder_id, "contact_point_id": conversation.contact_point_id},
                 at=when)
    return True


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
