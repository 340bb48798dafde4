"""Everything the gate's checks look at, read from the database into plain values.

The checks themselves (compliance/checks.py) are pure functions of these facts, the pack and the clock, so
`evaluate` (dry run) and `deliver` decide with exactly the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from compliance.contract import SendRequest
from core.enums import Direction, MessagePurpose, MessageStatus
from storage.tables import Account, Cardholder, ContactLedger, ContactPoint, Conversation, Message

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
    do_not_contact: str | None
    do_not_contact_at: datetime | None
    cease_requested_at: datetime | None
    vulnerable: bool


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


class UnknownCardholder(LookupError):
    pass


def load_holder(session: Session, cardholder_id: int) -> HolderFacts:
    row = session.get(Cardholder, cardholder_id)
    if row is None:
        raise UnknownCardholder(f"no cardholder with id {cardholder_id}")
    return HolderFacts(row.id, row.external_id, row.jurisdiction, row.timezone, row.language, row.do_not_contact,
                       row.do_not_contact_at, row.cease_requested_at, bool(row.vulnerable))


def load_facts(session: Session, request: SendRequest, holder: HolderFacts, now: datetime,
               longest_window_hours: int) -> Facts:
    point = _point(session, request)
    conversation = _conversation(session, request.conversation_id)
    account = _account(session, request.account_id)
    ledger = session.get(ContactLedger, holder.id)
    since = now - timedelta(hours=longest_window_hours)
    counted = session.scalars(
        select(Message.created_at).where(
            Message.cardholder_id == holder.id,
            Message.direction == Direction.OUTBOUND.value,
            Message.counts_toward_cap.is_(True),
            Message.status.in_(WENT_OUT),
            Message.created_at > since,
        )
    ).all()
    return Facts(
        now=now,
        holder=holder,
        point=point,
        conversation=conversation,
        account=account,
        counted_sends=tuple(sorted(counted)),
        last_inbound_at=_last_inbound(session, conversation, point),
        opt_out_confirmations=_sent_since(session, point.opted_out_at if point else None,
                                          Message.contact_point_id == (point.id if point else None),
                                          MessagePurpose.OPT_OUT_CONFIRMATION),
        cease_acknowledgements=_sent_since(session, holder.cease_requested_at, Message.cardholder_id == holder.id,
                                           MessagePurpose.CEASE_ACKNOWLEDGEMENT),
        first_disclosure_at=ledger.first_disclosure_at if ledger else None,
        contacts_total=int(ledger.contacts_total) if ledger else 0,
        last_contact_at=ledger.last_contact_at if ledger else None,
    )


def _point(session: Session, request: SendRequest) -> PointFacts | None:
    if request.contact_point_id is not None:
        row = session.get(ContactPoint, request.contact_point_id)
    else:
        # The best address on the channel: usable ones first, then the cardholder's preferred one.
        row = session.scalars(
            select(ContactPoint)
            .where(ContactPoint.cardholder_id == request.cardholder_id, ContactPoint.channel == request.channel.value)
            .order_by(
                case((ContactPoint.opted_out_at.is_(None), 0), else_=1),
                case((ContactPoint.status == "active", 0), else_=1),
                case((ContactPoint.preferred.is_(True), 0), else_=1),
                ContactPoint.id,
            )
            .limit(1)
        ).first()
    if row is None:
        return None
    return PointFacts(row.id, row.cardholder_id, row.channel, row.address, row.consent_basis, row.consent_at,
                      bool(row.verified), row.opted_out_at, row.opted_out_method, row.status, row.status_reason)


def _conversation(session: Session, conversation_id: int | None) -> ConversationFacts | None:
    row = session.get(Conversation, conversation_id) if conversation_id is not None else None
    if row is None:
        return None
    return ConversationFacts(row.id, row.cardholder_id, row.contact_point_id, row.channel, bool(row.verified),
                             bool(row.third_party), bool(row.cardholder_started))


def _account(session: Session, account_id: int | None) -> AccountFacts | None:
    row = session.get(Account, account_id) if account_id is not None else None
    if row is None:
        return None
    return AccountFacts(row.id, row.external_id, row.cardholder_id, row.product, row.currency, int(row.balance_minor),
                        int(row.minimum_due_minor), row.due_date, int(row.days_past_due), row.stage,
                        row.reminders_paused_reason)


def _last_inbound(session: Session, conversation: ConversationFacts | None, point: PointFacts | None) -> datetime | None:
    if conversation is not None:
        where = Message.conversation_id == conversation.id
    elif point is not None:
        where = Message.contact_point_id == point.id
    else:
        return None
    return session.scalar(
        select(func.max(Message.created_at)).where(where, Message.direction == Direction.INBOUND.value)
    )


def _sent_since(session: Session, since: datetime | None, scope: object, purpose: MessagePurpose) -> int:
    if since is None:
        return 0
    return int(session.scalar(
        select(func.count()).select_from(Message).where(
            scope,  # type: ignore[arg-type]
            Message.direction == Direction.OUTBOUND.value,
            Message.purpose == purpose.value,
            Message.status.in_(WENT_OUT),
            Message.created_at >= since,
        )
    ) or 0)
