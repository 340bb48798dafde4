"""Who the bot is talking to: the conversation, its cardholder, the account under discussion, and their local day.

Every dialogue step starts here. A step's result is a `TurnOutcome`: template ids with params (never wording),
slot values for Rasa to mirror, and whether the bot must pause for an officer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from storage.tables import Account, Cardholder, ContactPoint, Conversation


class DialogueError(LookupError):
    """The conversation (or what it needs) does not exist; the internal API answers 404 with this message."""


@dataclass
class TurnOutcome:
    replies: list[dict[str, Any]] = field(default_factory=list)
    slots: dict[str, Any] = field(default_factory=dict)
    pause: bool = False
    data: dict[str, Any] = field(default_factory=dict)

    def say(self, template_id: str, **params: Any) -> TurnOutcome:
        self.replies.append({"template_id": template_id, "params": params})
        return self


@dataclass
class Party:
    conversation: Conversation
    cardholder: Cardholder
    contact_point: ContactPoint
    account: Account | None
    # The language of the current turn, chosen by Accord from the cardholder's message (bot/inbound.py) and passed
    # back by the action server; None outside a turn.
    turn_language: str | None = None

    @property
    def language(self) -> str:
        """The language the cardholder's words are read in this turn: the one they wrote in, else their profile's."""
        return self.turn_language or self.cardholder.language

    @property
    def profile_language(self) -> str:
        return self.cardholder.language

    @property
    def verified(self) -> bool:
        # A Telegram chat bound to the cardholder (deep link sent to their phone, or a matching shared contact)
        # has proved possession already.
        return bool(self.conversation.verified or (self.contact_point.channel == "telegram"
                                                   and self.contact_point.verified))

    def local_today(self, now: datetime) -> date:
        try:
            zone = ZoneInfo(self.cardholder.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DialogueError(f"cardholder {self.cardholder.id} has an unknown timezone") from exc
        return now.astimezone(zone).date()

    @property
    def currency(self) -> str:
        return self.account.currency if self.account else "CNY"


def _party_statement(lock: bool) -> Select[tuple[Conversation, Cardholder, ContactPoint, Account]]:
    # The account under discussion: the most delinquent one that still has a balance.
    account_id = (select(Account.id)
                  .where(Account.cardholder_id == Conversation.cardholder_id, Account.balance_minor > 0)
                  .order_by(Account.days_past_due.desc(), Account.balance_minor.desc(), Account.id)
                  .limit(1)
                  .correlate(Conversation)
                  .scalar_subquery())
    query = (select(Conversation, Cardholder, ContactPoint, Account)
             .join(Cardholder, Cardholder.id == Conversation.cardholder_id)
             .join(ContactPoint, ContactPoint.id == Conversation.contact_point_id)
             .outerjoin(Account, Account.id == account_id)
             .where(Conversation.id == bindparam("conversation")))
    # Only the conversation row is locked: the step's writes to it are what must not interleave.
    return query.with_for_update(of=Conversation) if lock else query


# Built once: every dialogue step (each action's call to the internal API) starts with this one statement.
_PARTY = {lock: _party_statement(lock) for lock in (False, True)}


def load_party(session: Session, conversation_id: int, *, lock: bool = False,
               turn_language: str | None = None) -> Party:
    """The conversation with its cardholder, contact point and account, in one round trip."""
    row = session.execute(_PARTY[lock], {"conversation": conversation_id}).first()
    if row is None:
        if session.get(Conversation, conversation_id) is None:
            raise DialogueError(f"conversation {conversation_id} not found")
        raise DialogueError(f"conversation {conversation_id} has no cardholder or contact point")
    conversation, cardholder, point, account = row
    return Party(conversation=conversation, cardholder=cardholder, contact_point=point, account=account,
                 turn_language=turn_language)
