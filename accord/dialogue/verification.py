"""Right-party verification: the card's last four digits and the birth year, with limited attempts.

Nothing about the debt is said before this passes. After `max_attempts` failures the conversation is locked and
an officer takes over (escalation `verification_failed`).
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime

from sqlalchemy.orm import Session

from accord.dialogue.extract import normalise
from accord.dialogue.handoff import escalate
from accord.dialogue.party import Party, TurnOutcome
from bot.audit_link import append_audit
from core.enums import EscalationReason

_FOUR_DIGITS = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def parse_card_last4(text: str, language: str) -> str | None:
    found = _FOUR_DIGITS.findall(normalise(text, language).replace(" ", ""))
    return found[-1] if found else None


def parse_birth_year(text: str, language: str, this_year: int) -> str | None:
    for candidate in _FOUR_DIGITS.findall(normalise(text, language)):
        if 1900 <= int(candidate) <= this_year:
            return candidate
    return None


def _same(given: str | None, expected: str | int | None) -> bool:
    if given is None or expected is None:
        return False
    return hmac.compare_digest(given.encode(), str(expected).encode())


def verify(
    session: Session, party: Party, *, card_last4: str, birth_year: str, max_attempts: int, now: datetime
) -> TurnOutcome:
    conversation = party.conversation
    if party.verified:
        return TurnOutcome(slots={"verified": True, "verification_locked": False}).say("verify.success")
    if conversation.verification_attempts >= max_attempts:
        return TurnOutcome(slots={"verified": False, "verification_locked": True}, pause=True).say("verify.locked")
    this_year = party.local_today(now).year
    card = parse_card_last4(card_last4, party.language)
    year = parse_birth_year(birth_year, party.language, this_year)
    # Both comparisons always run, so the time taken does not tell which one failed.
    card_ok = _same(card, party.cardholder.card_last4)
    year_ok = _same(year, party.cardholder.birth_year)
    subject = {"subject_type": "conversation", "subject_id": str(conversation.id)}
    if card_ok and year_ok:
        conversation.verified = True
        append_audit(session, kind="verification.passed", actor="cardholder", payload={}, at=now, **subject)
        return TurnOutcome(slots={"verified": True, "verification_locked": False}).say("verify.success")
    conversation.verification_attempts += 1
    attempts_left = max_attempts - conversation.verification_attempts
    append_audit(session, kind="verification.failed", actor="cardholder",
                 payload={"attempt": conversation.verification_attempts}, at=now, **subject)
    cleared = {"card_last4": None, "birth_year": None, "verified": False}
    if attempts_left <= 0:
        escalate(session, party, EscalationReason.VERIFICATION_FAILED, now=now,
                 detail={"attempts": conversation.verification_attempts})
        return TurnOutcome(slots={**cleared, "verification_locked": True}, pause=True).say("verify.locked")
    return TurnOutcome(slots={**cleared, "verification_locked": False}).say(
        "verify.failed_retry", attempts_left=attempts_left
    )
