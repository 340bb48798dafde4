"""Everything the gate's checks look at, read from the database into plain values.

The checks themselves (compliance/checks.py) are pure functions of these facts, the pack and the clock, so
`evaluate` (dry run) and `deliver` decide with exactly the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ARRAY, BigInteger, BindParameter, bindparam, case, func, select
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


T = TypeVar("T")


class UnknownCardholder(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class LedgerFacts:
    contacts_total: int
    last_contact_at: datetime | None
    first_disclosure_at: datetime | None


# Statements built once with bind parameters: the gate runs these for every batch it decides, and building a
# statement costs more than running it. Plain column selects, not ORM loads, for the same reason. Each reads one
# kind of fact for a whole batch of requests (`ids`), not one request at a time.
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
HOLDER_COLUMNS = (Cardholder.id, Cardholder.external_id, Cardholder.jurisdiction, Cardholder.timezone,
                  Cardholder.language, Cardholder.do_not_contact, Cardholder.do_not_contact_at,
                  Cardholder.cease_requested_at, Cardholder.vulnerable)
_HOLDERS = select(*HOLDER_COLUMNS).where(Cardholder.id.in_(_IDS))
_POINT_COLUMNS = (ContactPoint.id, ContactPoint.cardholder_id, ContactPoint.channel, ContactPoint.address,
                  ContactPoint.consent_basis, ContactPoint.consent_at, ContactPoint.verified,
                  ContactPoint.opted_out_at, ContactPoint.opted_out_method, ContactPoint.status,
                  ContactPoint.status_reason)
_POINTS = select(*_POINT_COLUMNS).where(ContactPoint.id.in_(_IDS))
# The best address on the channel when none is named: usable ones first, then the cardholder's preferred one.
_BEST_POINT = (
    select(*_POINT_COLUMNS)
    .where(ContactPoint.cardholder_id == bindparam("cardholder_id"), ContactPoint.channel == bindparam("channel"))
    .order_by(case((ContactPoint.opted_out_at.is_(None), 0), else_=1),
              case((ContactPoint.status == "active", 0), else_=1),
              case((ContactPoint.preferred.is_(True), 0), else_=1), ContactPoint.id)
    .limit(1)
)
_INBOUND = Message.direction == Direction.INBOUND.value
# A reply's check needs the conversation's last inbound message: read with it, not in a round trip of its own.
_LAST_INBOUND_IN = (select(func.max(Message.created_at)).where(Message.conversation_id == Conversation.id, _INBOUND)
                    .correlate(Conversation).scalar_subquery())
_CONVERSATION_COLUMNS = (Conversation.id, Conversation.cardholder_id, Conversation.contact_point_id,
                         Conversation.channel, Conversation.verified, Conversation.third_party,
                         Conversation.cardholder_started, _LAST_INBOUND_IN)
_CONVERSATIONS = select(*_CONVERSATION_COLUMNS).where(Conversation.id.in_(_IDS))
_ACCOUNT_COLUMNS = (Account.id, Account.external_id, Account.cardholder_id, Account.product, Account.currency,
                    Account.balance_minor, Account.minimum_due_minor, Account.due_date, Account.days_past_due,
                    Account.stage, Account.reminders_paused_reason)
_ACCOUNTS = select(*_ACCOUNT_COLUMNS).where(Account.id.in_(_IDS))
_LEDGERS = select(ContactLedger.cardholder_id, ContactLedger.contacts_total, ContactLedger.last_contact_at,
                  ContactLedger.first_disclosure_at).where(ContactLedger.cardholder_id.in_(_IDS))
_COUNTED_SINCE = (Message.direction == Direction.OUTBOUND.value, Message.counts_toward_cap.is_(True),
                  Message.status.in_(WENT_OUT), Message.created_at > bindparam("since", type_=Message.created_at.type))
_COUNTED = select(Message.cardholder_id, Message.created_at).where(Message.cardholder_id.in_(_IDS), *_COUNTED_SINCE)
# PostgreSQL: points, conversations, accounts and counted sends in one round trip. unnest() pads the shorter id
# lists with NULL, so each row carries at most one of each, joined by id. The counted sends are read after the
# caller locked the ledger rows, in a statement of their own snapshot, so they include every send committed by a
# worker that held the lock before (reading them in the locking statement would not: see test_gate_concurrency).
_WANTED = func.unnest(*(bindparam(name, type_=ARRAY(BigInteger)) for name in ("points", "conversations", "accounts",
                                                                           "holders"))
                      ).table_valued("point", "conversation", "account", "holder").render_derived("wanted")
_COUNTED_IN = (select(func.array_agg(Message.created_at)).where(Message.cardholder_id == _WANTED.c.holder,
                                                                 *_COUNTED_SINCE).scalar_subquery())
_ONE_READ_PG = (select(*_POINT_COLUMNS, *_CONVERSATION_COLUMNS, *_ACCOUNT_COLUMNS, _WANTED.c.holder, _COUNTED_IN)
                .select_from(_WANTED)
                .outerjoin(ContactPoint, ContactPoint.id == _WANTED.c.point)
                .outerjoin(Conversation, Conversation.id == _WANTED.c.conversation)
                .outerjoin(Account, Account.id == _WANTED.c.account))
_LAST_ON_POINT = select(func.max(Message.created_at)).where(Message.contact_point_id == bindparam("id"), _INBOUND)
_SENT_SINCE = (Message.direction == Direction.OUTBOUND.value, Message.purpose == bindparam("purpose"),
               Message.status.in_(WENT_OUT), Message.created_at >= bindparam("since", type_=Message.created_at.type))
_CONFIRMATIONS = select(func.count()).select_from(Message).where(Message.contact_point_id == bindparam("id"), *_SENT_SINCE)
_ACKNOWLEDGEMENTS = select(func.count()).select_from(Message).where(Message.cardholder_id == bindparam("id"), *_SENT_SINCE)


def load_holder(session: Session, cardholder_id: int) -> HolderFacts:
    holder = load_holders(session, [cardholder_id]).get(cardholder_id)
    if holder is None:
        raise UnknownCardholder(f"no cardholder with id {cardholder_id}")
    return holder


def load_holders(session: Session, ids: Iterable[int]) -> dict[int, HolderFacts]:
    """Cardholders by id; an unknown id is simply absent."""
    rows = session.execute(_HOLDERS, {"ids": sorted(set(ids))}).all()
    return {row[0]: holder_facts(row) for row in rows}


def holder_facts(row: Sequence[Any]) -> HolderFacts:
    """From a row of HOLDER_COLUMNS."""
    return HolderFacts(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], bool(row[8]))


def ledger_facts(row: Any) -> LedgerFacts | None:
    return LedgerFacts(int(row[0] or 0), row[1], row[2]) if row is not None else None


@dataclass(frozen=True, slots=True)
class FactsQuery:
    """What to read for one request: its cardholder (already loaded), how far back the caps look, the ledger
    row the caller locked (None: read it), and whether the purpose can be a reply (needs the last inbound)."""

    request: SendRequest
    holder: HolderFacts
    window_hours: int
    ledger: LedgerFacts | None = None
    replies: bool = True


def load_facts(session: Session, request: SendRequest, holder: HolderFacts, now: datetime,
               longest_window_hours: int, *, ledger: LedgerFacts | None = None, replies: bool = True) -> Facts:
    return load_facts_many(session, [FactsQuery(request, holder, longest_window_hours, ledger, replies)], now)[0]


def load_facts_many(session: Session, queries: Sequence[FactsQuery], now: datetime) -> list[Facts]:
    """Facts for a batch of requests, read with one statement per kind of fact (points, conversations, accounts,
    counted sends, ledgers); the rarer reads (a best address, a last inbound, confirmations since an opt-out)
    are made per request, only where needed."""
    requests = [q.request for q in queries]
    since = {q.holder.id: now - timedelta(hours=q.window_hours) for q in queries}
    wanted = _Wanted({r.contact_point_id for r in requests if r.contact_point_id is not None},
                     {r.conversation_id for r in requests if r.conversation_id},
                     {r.account_id for r in requests if r.account_id is not None}, since)
    points, conversations, accounts, counted = _read_wanted(session, wanted)
    unlocked = {q.holder.id for q in queries if q.ledger is None}
    ledgers = {row[0]: ledger_facts(row[1:]) for row in session.execute(_LEDGERS, {"ids": sorted(unlocked)})
               } if unlocked else {}
    facts = []
    for query in queries:
        request, holder = query.request, query.holder
        if request.contact_point_id is not None:
            point = points.get(request.contact_point_id)
        else:
            point = _best_point(session, request)
        conversation = conversations.get(request.conversation_id) if request.conversation_id else None
        ledger = query.ledger if query.ledger is not None else ledgers.get(holder.id)
        opted_out_at = point.opted_out_at if point else None
        facts.append(Facts(
            now=now,
            holder=holder,
            point=point,
            conversation=conversation,
            account=accounts.get(request.account_id) if request.account_id is not None else None,
            counted_sends=tuple(sorted(counted.get(holder.id, ()))),
            last_inbound_at=_last_inbound(session, conversation, point) if query.replies else None,
            opt_out_confirmations=_count(session, _CONFIRMATIONS, point.id if point else None, opted_out_at,
                                         MessagePurpose.OPT_OUT_CONFIRMATION),
            cease_acknowledgements=_count(session, _ACKNOWLEDGEMENTS, holder.id, holder.cease_requested_at,
                                          MessagePurpose.CEASE_ACKNOWLEDGEMENT),
            first_disclosure_at=ledger.first_disclosure_at if ledger else None,
            contacts_total=ledger.contacts_total if ledger else 0,
            last_contact_at=ledger.last_contact_at if ledger else None,
        ))
    return facts


def _point(row: Sequence[Any]) -> PointFacts:
    return PointFacts(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], row[8], row[9], row[10])


def _conversation(row: Sequence[Any]) -> ConversationFacts:
    return ConversationFacts(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]), bool(row[6]), row[7])


def _account(row: Sequence[Any]) -> AccountFacts:
    return AccountFacts(row[0], row[1], row[2], row[3], row[4], int(row[5]), int(row[6]), row[7], int(row[8]),
                        row[9], row[10])


@dataclass(frozen=True, slots=True)
class _Wanted:
    points: set[int]
    conversations: set[int]
    accounts: set[int]
    since: dict[int, datetime]  # per cardholder: the start of the longest cap window of their pack


_Read = tuple[dict[int, PointFacts], dict[int, ConversationFacts], dict[int, AccountFacts], dict[int, list[datetime]]]


def _read_wanted(session: Session, wanted: _Wanted) -> _Read:
    """Points, conversations, accounts and each cardholder's counted sends: one statement on PostgreSQL, one per
    kind of fact elsewhere."""
    earliest = min(wanted.since.values())
    if session.get_bind().dialect.name != "postgresql":
        counted: dict[int, list[datetime]] = {}
        for holder_id, created_at in session.execute(_COUNTED, {"ids": sorted(wanted.since), "since": earliest}):
            if created_at > wanted.since[holder_id]:
                counted.setdefault(holder_id, []).append(created_at)
        return (_by_id(session, _POINTS, wanted.points, _point),
                _by_id(session, _CONVERSATIONS, wanted.conversations, _conversation),
                _by_id(session, _ACCOUNTS, wanted.accounts, _account), counted)
    points: dict[int, PointFacts] = {}
    conversations: dict[int, ConversationFacts] = {}
    accounts: dict[int, AccountFacts] = {}
    counted = {}
    p, c = len(_POINT_COLUMNS), len(_POINT_COLUMNS) + len(_CONVERSATION_COLUMNS)
    h = c + len(_ACCOUNT_COLUMNS)
    for row in session.connection().execute(_ONE_READ_PG, {"points": sorted(wanted.points),
                                              "conversations": sorted(wanted.conversations),
                                              "accounts": sorted(wanted.accounts), "holders": sorted(wanted.since),
                                              "since": earliest}):
        if row[0] is not None:
            points[row[0]] = _point(row[:p])
        if row[p] is not None:
            conversations[row[p]] = _conversation(row[p:c])
        if row[c] is not None:
            accounts[row[c]] = _account(row[c:h])
        if row[h] is not None and row[h + 1]:
            counted[row[h]] = [at for at in row[h + 1] if at > wanted.since[row[h]]]
    return points, conversations, accounts, counted


def _by_id(session: Session, statement: Any, ids: set[int], build: Callable[[Any], T]) -> dict[int, T]:
    if not ids:
        return {}
    return {row[0]: build(row) for row in session.execute(statement, {"ids": sorted(ids)})}


def _best_point(session: Session, request: SendRequest) -> PointFacts | None:
    row = session.execute(_BEST_POINT, {"cardholder_id": request.cardholder_id,
                                        "channel": request.channel.value}).first()
    return None if row is None else _point(row)


def _last_inbound(session: Session, conversation: ConversationFacts | None, point: PointFacts | None) -> datetime | None:
    if conversation is not None:
        return conversation.last_inbound_at
    if point is not None:
        return session.scalar(_LAST_ON_POINT, {"id": point.id})
    return None


def _count(session: Session, statement: Any, subject_id: int | None, since: datetime | None,
           purpose: MessagePurpose) -> int:
    if since is None or subject_id is None:
        return 0
    return int(session.scalar(statement, {"id": subject_id, "since": since, "purpose": purpose.value}) or 0)


def after_earlier(facts: Facts, earlier: Sequence[tuple[SendRequest, Any]]) -> Facts:
    """`facts` as the database will show them once the earlier decisions in the same batch for this cardholder
    are recorded (`earlier`: their requests and evaluations, in order). Only allowed ones change anything: they
    count toward the caps, the contact ledger and the "only once" messages, exactly as their rows will."""
    for previous, evaluation in earlier:
        if not evaluation.decision.allowed:
            continue
        point = evaluation.facts.point if evaluation.facts else None
        changes: dict[str, Any] = {"contacts_total": facts.contacts_total + 1, "last_contact_at": facts.now}
        if evaluation.counted:
            changes["counted_sends"] = (*facts.counted_sends, facts.now)
        if evaluation.first_disclosure:
            changes["first_disclosure_at"] = facts.now
        if (previous.purpose is MessagePurpose.OPT_OUT_CONFIRMATION and facts.point is not None
                and facts.point.opted_out_at is not None and point is not None and point.id == facts.point.id):
            changes["opt_out_confirmations"] = facts.opt_out_confirmations + 1
        if previous.purpose is MessagePurpose.CEASE_ACKNOWLEDGEMENT and facts.holder.cease_requested_at is not None:
            changes["cease_acknowledgements"] = facts.cease_acknowledgements + 1
        facts = replace(facts, **changes)
    return facts
