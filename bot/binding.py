"""Binding a Telegram chat to a cardholder.

A Telegram chat id says nothing about who holds it, and the bot cannot start a chat. Two ways prove that the
person in a chat is the cardholder:

- a one-time deep link, https://t.me/<bot>?start=<token>, sent by SMS to the cardholder's registered phone;
  opening it proves possession of that phone. Tokens expire, work once, and only their hash is stored;
- a contact the person shares from Telegram whose phone number is a cardholder's registered SMS number, and whose
  user id is the sender's own (Telegram verified that number when the account was created; a forwarded contact
  card of someone else carries that other person's user id).

A bound chat becomes a verified Telegram contact point with the cardholder's own consent. Functions here take a
session and never commit; callers own the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit, consent
from core.enums import Channel, ConsentBasis, ContactPointStatus
from storage.tables import BindingToken, Cardholder, ContactPoint

DEFAULT_TTL = timedelta(hours=24)
TOKEN_BYTES = 24  # 32 URL-safe characters; Telegram allows up to 64 of [A-Za-z0-9_-] in a start parameter


class BindingError(ValueError):
    """The binding link cannot be issued; the message says why."""


class BindingOutcome(StrEnum):
    BOUND = "bound"
    ALREADY_BOUND = "already_bound"  # the same chat again (a repeated /start, a second contact share)
    UNKNOWN = "unknown_token"
    EXPIRED = "expired_token"
    USED = "used_token"  # redeemed before, from another chat
    CONFLICT = "bound_to_someone_else"  # the chat already belongs to another cardholder
    NO_MATCH = "no_matching_phone"
    NOT_OWN_CONTACT = "not_own_contact"


@dataclass(frozen=True)
class BindingResult:
    outcome: BindingOutcome
    cardholder_id: int | None = None
    contact_point_id: int | None = None

    @property
    def bound(self) -> bool:
        return self.outcome in (BindingOutcome.BOUND, BindingOutcome.ALREADY_BOUND)


@dataclass(frozen=True)
class BindingInvite:
    cardholder_id: int
    sms_contact_point_id: int
    link: str
    expires_at: datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def deep_link(bot_username: str, token: str) -> str:
    return f"https://t.me/{bot_username.lstrip('@')}?start={token}"


def issue(
    session: Session, external_id: str, *, bot_username: str, at: datetime, ttl: timedelta = DEFAULT_TTL
) -> BindingInvite:
    cardholder = session.scalars(select(Cardholder).where(Cardholder.external_id == external_id)).first()
    if cardholder is None:
        raise BindingError(f"no cardholder with external id {external_id!r}")
    phone = session.scalars(
        select(ContactPoint)
        .where(ContactPoint.cardholder_id == cardholder.id, ContactPoint.channel == Channel.SMS.value)
        .order_by(ContactPoint.preferred.desc(), ContactPoint.id)
    ).first()
    if phone is None:
        raise BindingError(f"cardholder {external_id!r} has no registered SMS number to send the link to")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = BindingToken(token_hash=hash_token(token), cardholder_id=cardholder.id, sent_to_contact_point_id=phone.id,
                       channel=Channel.TELEGRAM.value, created_at=at, expires_at=at + ttl)
    session.add(row)
    session.flush()
    audit.append(session, "system", "binding.issued", "cardholder", cardholder.id,
                 {"binding_token_id": row.id, "channel": row.channel, "sent_to_contact_point_id": phone.id,
                  "expires_at": row.expires_at.isoformat()}, at=at)
    return BindingInvite(cardholder.id, phone.id, deep_link(bot_username, token), row.expires_at)


def redeem(session: Session, token: str, *, chat_id: int, at: datetime) -> BindingResult:
    row = session.scalars(
        select(BindingToken).where(BindingToken.token_hash == hash_token(token)).with_for_update()
    ).first()
    if row is None:
        return BindingResult(BindingOutcome.UNKNOWN)
    if row.used_at is not None:
        if row.used_by_address == str(chat_id):  # Telegram redelivered the same /start
            point = _telegram_point(session, chat_id)
            return BindingResult(BindingOutcome.ALREADY_BOUND, row.cardholder_id, point.id if point else None)
        return BindingResult(BindingOutcome.USED, row.cardholder_id)
    if at >= row.expires_at:
        return BindingResult(BindingOutcome.EXPIRED, row.cardholder_id)
    result = bind(session, row.cardholder_id, chat_id=chat_id, at=at, method="deep_link")
    if result.bound:
        row.used_at = at
        row.used_by_address = str(chat_id)
    return result


def bind_by_contact(
    session: Session, *, chat_id: int, from_user_id: int, contact_user_id: int | None, phone: str, at: datetime
) -> BindingResult:
    if contact_user_id is None or contact_user_id != from_user_id:
        return BindingResult(BindingOutcome.NOT_OWN_CONTACT)
    e164 = normalise_phone(phone)
    if e164 is None:
        return BindingResult(BindingOutcome.NO_MATCH)
    sms = session.scalars(
        select(ContactPoint).where(ContactPoint.channel == Channel.SMS.value, ContactPoint.address == e164)
    ).first()
    if sms is None:
        return BindingResult(BindingOutcome.NO_MATCH)
    return bind(session, sms.cardholder_id, chat_id=chat_id, at=at, method="shared_contact")


def bind(session: Session, cardholder_id: int, *, chat_id: int, at: datetime, method: str) -> BindingResult:
    point = _telegram_point(session, chat_id)
    if point is not None and point.cardholder_id != cardholder_id:
        audit.append(session, "cardholder", "binding.refused", "contact_point", point.id,
                     {"reason": BindingOutcome.CONFLICT.value, "claimed_cardholder_id": cardholder_id,
                      "method": method}, at=at)
        return BindingResult(BindingOutcome.CONFLICT, cardholder_id, point.id)
    outcome = BindingOutcome.ALREADY_BOUND
    if point is None:
        outcome = BindingOutcome.BOUND
        point = ContactPoint(cardholder_id=cardholder_id, channel=Channel.TELEGRAM.value, address=str(chat_id),
                             preferred=False, consent_basis=ConsentBasis.CARDHOLDER_INITIATED.value, consent_at=at,
                             verified=False, status=ContactPointStatus.ACTIVE.value, created_at=at, updated_at=at)
        session.add(point)
        session.flush()
        audit.append(session, "cardholder", "binding.bound", "contact_point", point.id,
                     {"cardholder_id": cardholder_id, "channel": Channel.TELEGRAM.value, "method": method}, at=at)
    # Possession of the registered phone (or Telegram's own check of it) is right-party verification.
    consent.mark_verified(session, contact_point_id=point.id, at=at, actor="cardholder", method=f"binding:{method}")
    return BindingResult(outcome, cardholder_id, point.id)


def normalise_phone(raw: str) -> str | None:
    """Telegram reports numbers with or without a leading '+'; Accord stores E.164."""
    digits = raw.strip()
    if not digits.startswith("+"):
        digits = "+" + digits
    try:
        parsed = phonenumbers.parse(digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _telegram_point(session: Session, chat_id: int) -> ContactPoint | None:
    return session.scalars(
        select(ContactPoint).where(ContactPoint.channel == Channel.TELEGRAM.value,
                                   ContactPoint.address == str(chat_id))
    ).first()
