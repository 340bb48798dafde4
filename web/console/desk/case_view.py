"""Everything the conversation page shows: the thread, the account, verification, flags and history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance.protection import StateFact, active_facts
from compliance.right_party import Basis, right_party_of
from core.enums import Direction
from core.money import Money
from core.protection import ProtectiveKind
from storage.tables import (
    Account,
    Cardholder,
    ComplianceDecision,
    ContactPoint,
    Conversation,
    Escalation,
    InstallmentPlan,
    Message,
    Promise,
)
from web.console.masking import Viewer, display_address, display_name, display_secret

THREAD_LIMIT = 300


@dataclass(frozen=True)
class Turn:
    id: int
    who: str  # cardholder | bot | scheduler | system | officer
    officer: str | None
    direction: str
    status: str
    text: str
    at: datetime
    reasons: tuple[str, ...] = ()


@dataclass
class CaseView:
    conversation: Conversation
    cardholder_name: str
    cardholder_language: str
    jurisdiction: str
    timezone: str
    address: str
    channel: str
    accounts: list[dict[str, Any]]
    flags: list[tuple[str, dict[str, str]]]
    secrets: dict[str, str]
    promises: list[Promise]
    plans: list[InstallmentPlan]
    escalations: list[Escalation]
    turns: list[Turn] = field(default_factory=list)
    local_now: str = "?"  # the cardholder's wall-clock time: officers should see it before writing
    # What the gate will decide about account details on this conversation (compliance.right_party.Basis).
    right_party: str = Basis.NONE.value

    @property
    def primary_account(self) -> dict[str, Any] | None:
        return self.accounts[0] if self.accounts else None


def money(minor: int, currency: str, language: str) -> str:
    return Money(minor, currency).format(language)


def load_thread(s: Session, conversation_id: int, after_id: int = 0) -> list[Turn]:
    rows = s.execute(
        select(Message, ComplianceDecision.reasons)
        .outerjoin(ComplianceDecision, ComplianceDecision.id == Message.decision_id)
        .where(Message.conversation_id == conversation_id, Message.id > after_id)
        .order_by(Message.created_at, Message.id)
        .limit(THREAD_LIMIT)
    ).all()
    turns = []
    for msg, reasons in rows:
        who, officer = msg.author, None
        if msg.direction == Direction.INBOUND:
            who = "cardholder"
        elif msg.author.startswith("officer:"):
            who, officer = "officer", msg.author.split(":", 1)[1]
        turns.append(Turn(id=msg.id, who=who, officer=officer, direction=msg.direction, status=msg.status,
                          text=msg.text, at=msg.created_at, reasons=tuple(reasons or ())))
    return turns


def load_case(s: Session, conversation_id: int, viewer: Viewer, language: str,
              holder_username: str | None, now: datetime | None = None, *,
              registered_phone_counts: Callable[[str], bool]) -> CaseView | None:
    """`registered_phone_counts(jurisdiction)`: whether that pack counts the phone number on record as the
    cardholder, as the gate will."""
    conv = s.get(Conversation, conversation_id)
    if conv is None:
        return None
    holder = s.get(Cardholder, conv.cardholder_id)
    point = s.get(ContactPoint, conv.contact_point_id)
    assert holder is not None
    subject = f"cardholder:{holder.id}"
    case_needs = holder_username is not None and conv.held_by == holder_username
    accounts = [
        {"id": a.id, "external_id": a.external_id, "product": a.product, "stage": a.stage,
         "dpd": a.days_past_due, "due_date": a.due_date, "currency": a.currency,
         "balance": money(a.balance_minor, a.currency, language), "balance_minor": a.balance_minor,
         "minimum_due": money(a.minimum_due_minor, a.currency, language), "paused": a.reminders_paused_reason}
        for a in s.scalars(select(Account).where(Account.cardholder_id == holder.id).order_by(Account.id))
    ]
    account_ids = [a["id"] for a in accounts]
    states = active_facts(s, [holder.id], now or datetime.now(UTC)).get(holder.id, ())
    return CaseView(
        conversation=conv,
        cardholder_name=display_name(holder.full_name, viewer, case_needs=case_needs, subject=subject),
        cardholder_language=holder.language,
        jurisdiction=holder.jurisdiction,
        timezone=holder.timezone,
        address=display_address(point.address if point else None, viewer, subject=subject),
        channel=conv.channel,
        accounts=accounts,
        flags=flags_of(states, point),
        secrets={"card_last4": display_secret(holder.card_last4, viewer, subject),
                 "birth_year": display_secret(holder.birth_year, viewer, subject)},
        promises=list(s.scalars(select(Promise).where(Promise.account_id.in_(account_ids))
                                .order_by(Promise.created_at.desc()))),
        plans=list(s.scalars(select(InstallmentPlan).where(InstallmentPlan.account_id.in_(account_ids))
                             .order_by(InstallmentPlan.created_at.desc()))),
        escalations=list(s.scalars(select(Escalation).where(Escalation.conversation_id == conv.id)
                                   .order_by(Escalation.created_at.desc()))),
        turns=load_thread(s, conv.id),
        local_now=_local_now(now, holder.timezone),
        right_party=right_party_of(
            conv, point, registered_phone_counts=registered_phone_counts(holder.jurisdiction),
            third_party_address=point is not None and any(
                f.kind is ProtectiveKind.THIRD_PARTY and f.contact_point_id == point.id for f in states),
        ).basis.value,
    )


def _local_now(now: datetime | None, zone: str) -> str:
    try:
        return f"{now.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}" if now else "?"
    except (ZoneInfoNotFoundError, ValueError):
        return "?"


def flags_of(states: tuple[StateFact, ...], point: ContactPoint | None) -> list[tuple[str, dict[str, str]]]:
    """Flags an officer must see before writing anything, as (catalog key, parameters): the protective states in
    force for the person or for this conversation's address, then the address's own facts."""
    flags: list[tuple[str, dict[str, str]]] = []
    for state in states:
        # A state on another address does not touch this conversation (the panel lists it); the opt-out of this
        # address is shown below with its method, from the contact point it mirrors.
        if not state.covers(point.id if point else None) or state.kind is ProtectiveKind.CHANNEL_OPT_OUT:
            continue
        flags.append((f"flag.state.{state.kind.value}", {"since": f"{state.set_at:%Y-%m-%d}"}))
    if point is not None:
        if point.opted_out_at:
            flags.append(("flag.opted_out", {"channel": point.channel, "since": f"{point.opted_out_at:%Y-%m-%d}",
                                             "method": point.opted_out_method or "?"}))
        if point.status != "active":
            flags.append(("flag.contact_status", {"status": point.status, "why": point.status_reason or ""}))
        if not point.consent_basis:
            flags.append(("flag.no_consent", {"channel": point.channel}))
    return flags
