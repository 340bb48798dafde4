"""Protective states: the facts about a person or an address that stop or limit what may be sent to them.

One vocabulary for all of them, so the gate, the sweep, the follow-ups, the bot and the console ask the same
question ("what does this state allow for this purpose?") of the same policy-pack matrix. Pure values only.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class ProtectiveKind(StrEnum):
    ATTORNEY = "attorney"  # represented by an attorney / solicitor: talk to them, not the person
    BANKRUPTCY = "bankruptcy"
    DISPUTE = "dispute"  # the person disputes the debt; collection waits for the validation / outcome
    DECEASED = "deceased"
    DISTRESS = "distress"  # the person said something that points to a crisis (self-harm, "don't want to live")
    VULNERABILITY = "vulnerability"  # FCA FG21/1: health, life event, resilience or capability
    CEASE = "cease"  # asked us to stop communicating (Reg F 1006.6(c)); only the pack's allowed messages go out
    STOP_ALL_CONTACT = "stop_all_contact"  # asked to stop all contact where the pack has no cease right
    CHANNEL_OPT_OUT = "channel_opt_out"  # STOP on one address (per channel); mirrors contact_points.opted_out_at
    PAYMENT_CLAIMED = "payment_claimed"  # "I already paid": someone checks before collection goes on
    THIRD_PARTY = "third_party"  # the address reaches someone else (a relative, a wrong number)


# States that belong to one address rather than to the person: they follow the phone number or chat.
ADDRESS_KINDS = frozenset({ProtectiveKind.CHANNEL_OPT_OUT, ProtectiveKind.THIRD_PARTY})


class Effect(StrEnum):
    """What a state does to one outbound purpose. Ordered from least to most restrictive."""

    ALLOW = "allow"
    LIMITED = "limited"  # only limited-content wording: who is writing, no amount, no account, no word for debt
    BLOCK = "block"


_RANK = {Effect.ALLOW: 0, Effect.LIMITED: 1, Effect.BLOCK: 2}


def strictest(effects: Iterable[Effect]) -> Effect:
    result = Effect.ALLOW
    for effect in effects:
        if _RANK[effect] > _RANK[result]:
            result = effect
    return result


class SetBy(StrEnum):
    BOT = "bot"
    OFFICER = "officer"
    BANK_IMPORT = "bank_import"
    PROVIDER = "provider"
    CARDHOLDER = "cardholder"  # a keyword such as STOP, which needs no interpretation


class StateStatus(StrEnum):
    PROPOSED = "proposed"  # suggested by the dialogue (e.g. a vulnerability), waiting for an officer: not enforced
    ACTIVE = "active"
    LIFTED = "lifted"


class VulnerabilityDriver(StrEnum):
    """FCA FG21/1's four drivers of vulnerability."""

    HEALTH = "health"
    LIFE_EVENT = "life_event"
    RESILIENCE = "resilience"
    CAPABILITY = "capability"


class LiftOutcome(StrEnum):
    """How a state ended; each names the decision an officer (or a system) took."""

    DISPUTE_UPHELD = "dispute_upheld"  # the account was corrected or closed
    DISPUTE_REJECTED = "dispute_rejected"  # validation notice first, collection resumes after the pack's wait
    DISTRESS_REVIEWED = "distress_reviewed"  # support given or referred; safe to resume on a date
    VULNERABILITY_ENDED = "vulnerability_ended"
    VULNERABILITY_DISMISSED = "vulnerability_dismissed"  # a proposal the officer did not confirm
    PAYMENT_CONFIRMED = "payment_confirmed"
    PAYMENT_NOT_FOUND = "payment_not_found"
    THIRD_PARTY_CLEARED = "third_party_cleared"  # the officer established who holds the address now
    LIFTED = "lifted"  # attorney, bankruptcy, deceased, cease, stop-all: lifted with a reason
    RESUBSCRIBED = "resubscribed"  # START after a STOP


# Which outcomes may end which state. The console offers exactly these buttons.
OUTCOMES: dict[ProtectiveKind, tuple[LiftOutcome, ...]] = {
    ProtectiveKind.ATTORNEY: (LiftOutcome.LIFTED,),
    ProtectiveKind.BANKRUPTCY: (LiftOutcome.LIFTED,),
    ProtectiveKind.DISPUTE: (LiftOutcome.DISPUTE_UPHELD, LiftOutcome.DISPUTE_REJECTED),
    ProtectiveKind.DECEASED: (LiftOutcome.LIFTED,),
    ProtectiveKind.DISTRESS: (LiftOutcome.DISTRESS_REVIEWED,),
    ProtectiveKind.VULNERABILITY: (LiftOutcome.VULNERABILITY_ENDED, LiftOutcome.VULNERABILITY_DISMISSED),
    ProtectiveKind.CEASE: (LiftOutcome.LIFTED,),
    ProtectiveKind.STOP_ALL_CONTACT: (LiftOutcome.LIFTED,),
    ProtectiveKind.CHANNEL_OPT_OUT: (LiftOutcome.RESUBSCRIBED,),
    ProtectiveKind.PAYMENT_CLAIMED: (LiftOutcome.PAYMENT_CONFIRMED, LiftOutcome.PAYMENT_NOT_FOUND),
    ProtectiveKind.THIRD_PARTY: (LiftOutcome.THIRD_PARTY_CLEARED,),
}
