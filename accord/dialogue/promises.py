"""Promises to pay and form-slot parsing: the cardholder's words become checked values here, never in Rasa."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from accord.dialogue.config import NegotiationFile
from accord.dialogue.extract import extract_amount, extract_date
from accord.dialogue.party import Party, TurnOutcome
from accord.dialogue.verification import parse_birth_year, parse_card_last4
from bot.audit_link import append_audit
from core.enums import PromiseStatus
from storage.tables import Promise

# The reply that asks again when a slot's answer cannot be read.
INVALID_TEMPLATES = {
    "card_last4": "verify.invalid_card_last4",
    "birth_year": "verify.invalid_birth_year",
    "affordable_amount": "hardship.invalid_amount",
    "promise_date": "promise.invalid_date",
    "promise_amount": "promise.invalid_amount",
}


def parse_slot(party: Party, cfg: NegotiationFile, *, slot: str, text: str, now: datetime) -> TurnOutcome:
    """Check one form answer. `data["value"]` is the canonical value (None when unreadable) to keep in the slot."""
    today = party.local_today(now)
    value: str | None
    if slot == "card_last4":
        value = parse_card_last4(text, party.language)
    elif slot == "birth_year":
        value = parse_birth_year(text, party.language, today.year)
    elif slot in ("affordable_amount", "promise_amount"):
        minor = extract_amount(text, party.language, party.currency)
        value = str(minor) if minor and minor > 0 else None
    elif slot == "promise_date":
        when = extract_date(text, party.language, today)
        value = when.isoformat() if when and _promise_window(when, today, cfg) else None
    elif slot == "hardship_reason":
        value = text.strip() or None
    else:
        raise ValueError(f"unknown slot {slot!r}")
    outcome = TurnOutcome(data={"value": value})
    if value is None and slot in INVALID_TEMPLATES:
        outcome.say(INVALID_TEMPLATES[slot], max_days=cfg.promise_max_days)
    return outcome


def _promise_window(when: date, today: date, cfg: NegotiationFile) -> bool:
    return today <= when <= today + timedelta(days=cfg.promise_max_days)


def record_promise(
    session: Session, party: Party, cfg: NegotiationFile, *, now: datetime, date_value: str, amount_value: str,
) -> TurnOutcome:
    if not party.verified:
        return TurnOutcome(slots={"verified": False}).say("verify.required")
    if party.account is None:
        return TurnOutcome().say("account.nothing_due")
    today = party.local_today(now)
    try:
        when = date.fromisoformat(date_value)
        amount = int(amount_value)
    except (TypeError, ValueError):
        return TurnOutcome(slots={"promise_date": None, "promise_amount": None}).say("promise.ask_date")
    if not _promise_window(when, today, cfg) or amount <= 0:
        return TurnOutcome(slots={"promise_date": None}).say("promise.invalid_date", max_days=cfg.promise_max_days)
    amount = min(amount, party.account.balance_minor)
    promise = Promise(account_id=party.account.id, conversation_id=party.conversation.id, amount_minor=amount,
                      promised_date=when, status=PromiseStatus.OPEN.value, recorded_by="bot", created_at=now)
    session.add(promise)
    session.flush()
    append_audit(session, kind="promise.recorded", actor="cardholder", subject_type="promise",
                 subject_id=str(promise.id),
                 payload={"account_id": party.account.id, "amount_minor": amount, "date": when.isoformat()}, at=now)
    outcome = TurnOutcome(slots={"promise_date": None, "promise_amount": None, "topic": None},
                          data={"promise_id": promise.id})
    return outcome.say("promise.recorded", amount=amount, date=when.isoformat())


def tell_balance(party: Party) -> TurnOutcome:
    if not party.verified:
        return TurnOutcome(slots={"verified": False}).say("verify.required")
    if party.account is None:
        return TurnOutcome().say("account.nothing_due")
    account = party.account
    return TurnOutcome(slots={"topic": None}).say(
        "account.balance", balance=account.balance_minor, minimum_due=account.minimum_due_minor,
        due_date=account.due_date.isoformat(),
    )
