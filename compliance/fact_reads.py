"""How the gate's facts are read: statements built once, and readers that take a whole batch of requests in one
round trip per kind of fact (one in all on PostgreSQL), building the plain values of compliance/fact_types.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ARRAY, BigInteger, BindParameter, bindparam, case, func, select
from sqlalchemy.orm import Session

from compliance.contract import SendRequest
from compliance.fact_types import (
    WENT_OUT,
    AccountFacts,
    ConversationFacts,
    HolderFacts,
    LedgerFacts,
    PointFacts,
)
from core.enums import Direction, MessagePurpose
from storage.tables import Account, Cardholder, ContactLedger, ContactPoint, Conversation, Message

T = TypeVar("T")

# Statements built once with bind parameters: the gate runs these for every batch it decides, and building a
# statement costs more than running it. Plain column selects, not ORM loads, for the same reason. Each reads one
# kind of fact for a whole batch of requests (`ids`), not one request at a time.
_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
HOLDER_COLUMNS = (Cardholder.id, Cardholder.external_id, Cardholder.jurisdiction, Cardholder.timezone,
                  Cardholder.language)
HOLDERS = select(*HOLDER_COLUMNS).where(Cardholder.id.in_(_IDS))
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
LEDGERS = select(ContactLedger.cardholder_id, ContactLedger.contacts_total, ContactLedger.last_contact_at,
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
CONFIRMATIONS = select(func.count()).select_from(Message).where(Message.contact_point_id == bindparam("id"), *_SENT_SINCE)
ACKNOWLEDGEMENTS = select(func.count()).select_from(Message).where(Message.cardholder_id == bindparam("id"), *_SENT_SINCE)


def holder_facts(row: Sequence[Any]) -> HolderFacts:
    """From a row of HOLDER_COLUMNS."""
    return HolderFacts(row[0], row[1], row[2], row[3], row[4])


def ledger_facts(row: Any) -> LedgerFacts | None:
    return LedgerFacts(int(row[0] or 0), row[1], row[2]) if row is not None else None


def _point(row: Sequence[Any]) -> PointFacts:
    return PointFacts(row[0], row[1], row[2], row[3], row[4], row[5], bool(row[6]), row[7], row[8], row[9], row[10])


def _conversation(row: Sequence[Any]) -> ConversationFacts:
    return ConversationFacts(row[0], row[1], row[2], row[3], bool(row[4]), bool(row[5]), bool(row[6]), row[7])


def _account(row: Sequence[Any]) -> AccountFacts:
    return AccountFacts(row[0], row[1], row[2], row[3], row[4], int(row[5]), int(row[6]), row[7], int(row[8]),
                        row[9], row[10])


@dataclass(frozen=True, slots=True)
class Wanted:
    """What a batch needs read, by id; `since` also names the batch's cardholders."""

    points: set[int]
    conversations: set[int]
    accounts: set[int]
    since: dict[int, datetime]  # per cardholder: the start of the longest cap window of their pack


_Read = tuple[dict[int, PointFacts], dict[int, ConversationFacts], dict[int, AccountFacts], dict[int, list[datetime]]]


def read_wanted(session: Session, wanted: Wanted) -> _Read:
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


def best_point(session: Session, request: SendRequest) -> PointFacts | None:
    row = session.execute(_BEST_POINT, {"cardholder_id": request.cardholder_id,
                                        "channel": request.channel.value}).first()
    return None if row is None else _point(row)


def last_inbound(session: Session, conversation: ConversationFacts | None, point: PointFacts | None) -> datetime | None:
    if conversation is not None:
        return conversation.last_inbound_at
    if point is not None:
        return session.scalar(_LAST_ON_POINT, {"id": point.id})
    return None


def count_since(session: Session, statement: Any, subject_id: int | None, since: datetime | None,
           purpose: MessagePurpose) -> int:
    if since is None or subject_id is None:
        return 0
    return int(session.scalar(statement, {"id": subject_id, "since": since, "purpose": purpose.value}) or 0)
