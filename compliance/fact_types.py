"""The plain values the gate's checks look at: a cardholder, a contact point, a conversation, an account, the
contact ledger, and all of them together for one request (Facts). Read by compliance/fact_reads.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from compliance.protection import StateFact
from core.enums import MessageStatus

# Rows that went out, or may have (a crash left the outcome unknown): all of them count against caps and
# "only once" rules. Blocked, deferred and failed attempts never reached the cardholder.
WENT_OUT = (MessageStatus.SENDING.value, MessageStatus.SENT.value, MessageStatus.DELIVERED.value,
            MessageStatus.REVIEW.value)


@dataclass(frozen=True, slots=True)
class HolderFacts:
    id: int
    external_id: str
    jurisdiction: str
    timezone: str
    language: str


@dataclass(frozen=True, slots=True)
class PointFacts:
    id: int
    cardholder_id: int
    channel: str
    address: str
    consent_basis: str | None
    consent_at: datetime | None
    verified: bool
    opted_out_at: datetime | None
    opted_out_method: str | None
    status: str
    status_reason: str | None


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    id: int
    cardholder_id: int
    contact_point_id: int
    channel: str
    verified: bool
    third_party: bool
    cardholder_started: bool
    last_inbound_at: datetime | None = None  # the cardholder's latest message in it


@dataclass(frozen=True, slots=True)
class AccountFacts:
    id: int
    external_id: str
    cardholder_id: int
    product: str
    currency: str
    balance_minor: int
    minimum_due_minor: int
    due_date: date
    days_past_due: int
    stage: str
    reminders_paused_reason: str | None


@dataclass(frozen=True, slots=True)
class Facts:
    now: datetime
    holder: HolderFacts
    point: PointFacts | None
    conversation: ConversationFacts | None
    account: AccountFacts | None
    counted_sends: tuple[datetime, ...]  # created_at of counted outbound messages inside the longest cap window
    last_inbound_at: datetime | None  # the cardholder's latest message on this conversation (or contact point)
    opt_out_confirmations: int  # confirmations already sent on this contact point since its opt-out
    cease_acknowledgements: int  # acknowledgements already sent since the cease request
    first_disclosure_at: datetime | None
    contacts_total: int
    last_contact_at: datetime | None
    # Protective states in force for the person and their addresses (compliance/protection.py).
    states: tuple[StateFact, ...] = ()
    cease_since: datetime | None = None  # when a cease or stop-all-contact state in force began


class UnknownCardholder(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class LedgerFacts:
    contacts_total: int
    last_contact_at: datetime | None
    first_disclosure_at: datetime | None
