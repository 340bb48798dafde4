"""The inbound pipeline's database steps: persist first, then look things up. Each function takes a session and
never commits; the pipeline owns the transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, exists, func, insert, select, true, update
from sqlalchemy.orm import Session, aliased

from core.enums import Channel, ConversationState, Direction, EscalationStatus, MessageStatus
from storage.tables import Account, Cardholder, ContactPoint, Conversation, Escalation, Message


@dataclass(frozen=True)
class Persisted:
    """What the pipeline needs after the inbound message is safely stored."""

    message_id: int
    duplicate: bool
    channel: Channel
    cardholder_id: int | None = None
    contact_point_id: int | None = None
    conversation_id: int | None = None
    conversation_state: str | None = None
    language: str | None = None  # the cardholder's profile language
    verified: bool = False
    account_id: int | None = None
    jurisdiction: str | None = None  # whose policy pack decides the reply language
    # The language detected in this message (stored on its row), and the last one detected in an earlier inbound
    # message of the conversation: core.turn_language picks the turn's language from these and the profile.
    message_language: str | None = None
    previous_language: str | None = None
    # The message was committed without waiting for the WAL flush: the pipeline makes it durable before it
    # returns (InboundRecorder.make_durable).
    awaits_flush: bool = False


# An inbound message whose provider id one of Accord's own outbound messages already holds (a provider never
# reuses a chat's message ids, but a misbehaving one or a fake can) is kept under this marked id rather than
# refused, which would make the provider redeliver it forever.
TAKEN_ID_SUFFIX = "#in"


def stored_provider_id(provider_message_id: str, taken: bool) -> str:
    """The id a new inbound message is stored under: its own, or the marked one when another message holds it."""
    return provider_message_id + TAKEN_ID_SUFFIX if taken else provider_message_id


@dataclass(frozen=True)
class ProviderIdClaim:
    """What a provider's message id means for a new inbound message: a duplicate delivery of a stored one, or the
    id to store it under."""

    duplicate: Message | None
    stored_id: str


_PROVIDER_ID_HOLDERS = select(Message.id, Message.direction, Message.channel, Message.provider_message_id).where(
    Message.provider_message_id.in_(bindparam("ids", expanding=True)))


def claim_provider_id(session: Session, channel: str, provider_message_id: str) -> ProviderIdClaim:
    """One read for both questions: was this message stored already (a redelivery), and does another message hold
    its id (then it is kept under the marked id)."""
    marked = stored_provider_id(provider_message_id, taken=True)
    holders = session.execute(_PROVIDER_ID_HOLDERS, {"ids": [provider_message_id, marked]}).all()
    for holder in holders:
        if holder.direction == Direction.INBOUND.value and holder.channel == channel:
            return ProviderIdClaim(session.get(Message, holder.id), provider_message_id)
    taken = any(holder.provider_message_id == provider_message_id for holder in holders)
    return ProviderIdClaim(None, stored_provider_id(provider_message_id, taken))


def as_duplicate(message: Message) -> Persisted:
    return Persisted(
        message_id=message.id,
        duplicate=True,
        channel=Channel(message.channel),
        cardholder_id=message.cardholder_id,
        contact_point_id=message.contact_point_id,
        conversation_id=message.conversation_id,
    )


@dataclass(frozen=True)
class Sender:
    """The contact point a message came from, with what a turn needs about its cardholder and open conversation."""

    contact_point_id: int
    cardholder_id: int
    language: str | None
    account_id: int | None  # the account a reply is about when the dialogue does not say: the most delinquent
    conversation_id: int | None  # the open conversation, if there is one
    conversation_state: str | None
    verified: bool
    last_message_at: datetime | None
    jurisdiction: str | None = None
    previous_language: str | None = None  # the last language detected in the open conversation's inbound messages
    duplicate_of: int | None = None  # an inbound message already stored under this provider id (a redelivery)
    stored_id: str | None = None  # the id to store the new message under (see stored_provider_id)


def _sender_statement() -> Any:
    open_one = aliased(Conversation)
    open_conversation_id = (
        select(open_one.id)
        .where(open_one.contact_point_id == ContactPoint.id, open_one.state != ConversationState.CLOSED.value)
        .order_by(open_one.last_message_at.desc(), open_one.id.desc())
        .limit(1)
        .correlate(ContactPoint)
        .scalar_subquery()
    )
    primary_account = (
        select(Account.id)
        .where(Account.cardholder_id == ContactPoint.cardholder_id)
        .order_by(Account.days_past_due.desc(), Account.id)
        .limit(1)
        .correlate(ContactPoint)
        .scalar_subquery()
    )
    # The provider-id questions ride along, so a message from a known sender costs one read before its insert.
    stored = aliased(Message)
    duplicate_of = (
        select(stored.id)
        .where(stored.provider_message_id.in_([bindparam("provider_id"), bindparam("marked_id")]),
               stored.direction == Direction.INBOUND.value, stored.channel == bindparam("channel"))
        .limit(1)
        .scalar_subquery()
    )
    id_taken = exists().where(Message.provider_message_id == bindparam("provider_id"))
    # The language the cardholder last wrote in here (messages with none detected, like "4417", are skipped): the
    # turn keeps it when the new message does not tell. Read here, so the turn costs no extra round trip.
    earlier = aliased(Message)
    previous_language = (
        select(earlier.language)
        .where(earlier.conversation_id == Conversation.id, earlier.direction == Direction.INBOUND.value,
               earlier.language.is_not(None))
        .order_by(earlier.created_at.desc(), earlier.id.desc())
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )
    return (
        select(ContactPoint.id, ContactPoint.cardholder_id, Cardholder.language, primary_account, Conversation.id,
               Conversation.state, Conversation.verified, Conversation.last_message_at, duplicate_of, id_taken,
               Cardholder.jurisdiction, previous_language)
        .join(Cardholder, Cardholder.id == ContactPoint.cardholder_id)
        .outerjoin(Conversation, Conversation.id == open_conversation_id)
        .where(ContactPoint.channel == bindparam("channel"), ContactPoint.address == bindparam("address"))
        .limit(1)
    )


# Built once: building a statement this size costs more than running it.
_SENDER = _sender_statement()


def find_sender(session: Session, channel: str, address: str, provider_message_id: str | None = None) -> Sender | None:
    """One statement: every inbound message needs all of this before the dialogue engine may see it. With a
    provider id, it also says whether the message was stored already and under which id to store it (as
    claim_provider_id does)."""
    marked = stored_provider_id(provider_message_id, taken=True) if provider_message_id is not None else None
    row = session.connection().execute(_SENDER, {"channel": channel, "address": address,
                                                 "provider_id": provider_message_id, "marked_id": marked}).first()
    if row is None:
        return None
    (point_id, holder_id, language, account_id, conversation_id, state, verified, last_at, duplicate, taken,
     jurisdiction, previous_language) = row
    stored_id = stored_provider_id(provider_message_id, bool(taken)) if provider_message_id is not None else None
    return Sender(point_id, holder_id, language, account_id, conversation_id, state, bool(verified), last_at,
                  jurisdiction, previous_language, duplicate, stored_id)


def store_from_sender(session: Session, sender: Sender, channel: str, text: str, at: datetime, *,
                      language: str | None = None, commit_async: bool = False) -> tuple[int, int]:
    """Store a known sender's message in their open conversation (moving its last-message time on to `at`), or in
    a new one the cardholder started: (message id, conversation id). On PostgreSQL the move and the insert are one
    statement: this runs before every turn, so each round trip saved is felt in every reply. `commit_async`
    (PostgreSQL, an autocommit session, an open conversation): that statement's commit does not wait for the WAL
    flush; the caller must make it durable before it acknowledges the message. `language`: the one detected in
    the text (core.language_detect), kept on the row so later turns of the conversation can fall back on it."""
    if sender.conversation_id is None:
        conversation_id = start_conversation(session, sender.cardholder_id, sender.contact_point_id, channel, at).id
        return _insert_inbound(session, _inbound_values(sender, channel, text, at, conversation_id, language)), conversation_id
    conversation_id = sender.conversation_id
    values = _inbound_values(sender, channel, text, at, conversation_id, language)
    postgres = session.get_bind().dialect.name == "postgresql"
    if sender.last_message_at is not None and at <= sender.last_message_at:
        return _insert_inbound(session, values, commit_async=commit_async and postgres), conversation_id
    if postgres:
        params = {**values, "conversation": conversation_id, "at": at}
        statement = _MOVE_AND_INSERT_ASYNC_PG if commit_async else _MOVE_AND_INSERT_PG
        return int(session.connection().execute(statement, params).scalars().one()), conversation_id
    session.connection().execute(_MOVE_CONVERSATION, {"conversation": conversation_id, "at": at})
    return _insert_inbound(session, values), conversation_id


_MOVE_CONVERSATION = (update(Conversation)
                      .where(Conversation.id == bindparam("conversation"),
                             Conversation.last_message_at < bindparam("at", type_=Conversation.last_message_at.type))
                      .values(last_message_at=bindparam("at")))
# Explicit bind names: in one statement with the conversation's UPDATE, plain column-named parameters would also
# be taken as that UPDATE's SET values.
_INBOUND_COLUMNS = ("channel", "direction", "status", "author", "text", "provider_message_id", "created_at",
                    "cardholder_id", "contact_point_id", "conversation_id", "counts_toward_cap", "language")
_INSERT_INBOUND = insert(Message).values({name: bindparam(f"m_{name}") for name in _INBOUND_COLUMNS}
                                         ).returning(Message.id)
# PostgreSQL runs a data-modifying CTE with the insert: one round trip (SQLite has no DML in a WITH clause).
_MOVE_AND_INSERT_PG = _INSERT_INBOUND.add_cte(_MOVE_CONVERSATION.cte("moved"))
# The same, committing without waiting for the WAL flush: set_config(..., true) lasts until the end of the
# statement's own transaction, whose commit reads it; the connection's setting is untouched afterwards.
_ASYNC_COMMIT = func.set_config("synchronous_commit", "off", true())
_INSERT_INBOUND_ASYNC_PG = _INSERT_INBOUND.returning(_ASYNC_COMMIT)
_MOVE_AND_INSERT_ASYNC_PG = _MOVE_AND_INSERT_PG.returning(_ASYNC_COMMIT)


def _inbound_values(sender: Sender, channel: str, text: str, at: datetime, conversation_id: int,
                    language: str | None) -> dict[str, Any]:
    values = {"channel": channel, "direction": Direction.INBOUND.value, "status": MessageStatus.RECEIVED.value,
              "author": "cardholder", "text": text, "provider_message_id": sender.stored_id, "created_at": at,
              "cardholder_id": sender.cardholder_id, "contact_point_id": sender.contact_point_id,
              "conversation_id": conversation_id, "counts_toward_cap": False, "language": language}
    return {f"m_{name}": value for name, value in values.items()}


def _insert_inbound(session: Session, values: dict[str, Any], *, commit_async: bool = False) -> int:
    statement = _INSERT_INBOUND_ASYNC_PG if commit_async else _INSERT_INBOUND
    return int(session.connection().execute(statement, values).scalars().one())


def find_contact_point(session: Session, channel: str, address: str) -> ContactPoint | None:
    return session.scalars(
        select(ContactPoint).where(ContactPoint.channel == channel, ContactPoint.address == address)
    ).first()


def open_conversation(session: Session, contact_point: ContactPoint, at: datetime) -> Conversation:
    """The contact point's open conversation, or a new one the cardholder started."""
    conversation = session.scalars(
        select(Conversation)
        .where(
            Conversation.contact_point_id == contact_point.id,
            Conversation.state != ConversationState.CLOSED.value,
        )
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(1)
    ).first()
    if conversation is not None:
        return conversation
    return start_conversation(session, contact_point.cardholder_id, contact_point.id, contact_point.channel, at)


def start_conversation(session: Session, cardholder_id: int, contact_point_id: int, channel: str,
                       at: datetime) -> Conversation:
    conversation = Conversation(
        cardholder_id=cardholder_id,
        contact_point_id=contact_point_id,
        channel=channel,
        state=ConversationState.BOT.value,
        verified=False,
        verification_attempts=0,
        third_party=False,
        opened_at=at,
        last_message_at=at,
        cardholder_started=True,
    )
    session.add(conversation)
    session.flush()
    return conversation


def inbound_row(channel: str, text: str, provider_message_id: str | None, at: datetime, **links: Any) -> Message:
    return Message(
        channel=channel,
        direction=Direction.INBOUND.value,
        status=MessageStatus.RECEIVED.value,
        author="cardholder",
        text=text,
        provider_message_id=provider_message_id,
        created_at=at,
        **links,
    )


def open_escalation_for(session: Session, conversation_id: int) -> Escalation | None:
    return session.scalars(
        select(Escalation).where(
            Escalation.conversation_id == conversation_id,
            Escalation.status.in_([EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value]),
        )
    ).first()
