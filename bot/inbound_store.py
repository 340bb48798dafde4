"""The inbound pipeline's database steps: persist first, then look things up. Each function takes a session and
never commits; the pipeline owns the transactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    language: str | None = None
    verified: bool = False


# An inbound message whose provider id one of Accord's own outbound messages already holds (a provider never
# reuses a chat's message ids, but a misbehaving one or a fake can) is kept under this marked id rather than
# refused, which would make the provider redeliver it forever.
TAKEN_ID_SUFFIX = "#in"


def find_by_provider_id(session: Session, channel: str, provider_message_id: str) -> Message | None:
    return session.scalars(
        select(Message).where(
            Message.provider_message_id.in_((provider_message_id, provider_message_id + TAKEN_ID_SUFFIX)),
            Message.direction == Direction.INBOUND.value,
            Message.channel == channel,
        )
    ).first()


def inbound_provider_id(session: Session, provider_message_id: str | None) -> str | None:
    """The id to store an inbound message under (see TAKEN_ID_SUFFIX)."""
    if provider_message_id is None:
        return None
    # Only an outbound holder moves it: an inbound one is this very message delivered twice (caught as a duplicate).
    taken = session.scalar(select(Message.id).where(Message.provider_message_id == provider_message_id,
                                                    Message.direction != Direction.INBOUND.value).limit(1))
    return provider_message_id if taken is None else provider_message_id + TAKEN_ID_SUFFIX


def as_duplicate(message: Message) -> Persisted:
    return Persisted(
        message_id=message.id,
        duplicate=True,
        channel=Channel(message.channel),
        cardholder_id=message.cardholder_id,
        contact_point_id=message.contact_point_id,
        conversation_id=message.conversation_id,
    )


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
    conversation = Conversation(
        cardholder_id=contact_point.cardholder_id,
        contact_point_id=contact_point.id,
        channel=contact_point.channel,
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


def cardholder_language(session: Session, cardholder_id: int) -> str | None:
    return session.scalar(select(Cardholder.language).where(Cardholder.id == cardholder_id))


def primary_account_id(session: Session, cardholder_id: int) -> int | None:
    """The account a reply is about when the dialogue does not say: the most delinquent one."""
    return session.scalar(
        select(Account.id)
        .where(Account.cardholder_id == cardholder_id)
        .order_by(Account.days_past_due.desc(), Account.id)
        .limit(1)
    )


def open_escalation_for(session: Session, conversation_id: int) -> Escalation | None:
    return session.scalars(
        select(Escalation).where(
            Escalation.conversation_id == conversation_id,
            Escalation.status.in_([EscalationStatus.OPEN.value, EscalationStatus.CLAIMED.value]),
        )
    ).first()
