"""An officer hands a conversation back to the bot: Accord's state returns to "bot" and Rasa gets `resume`.

The officers' console calls `resume_bot`. The Rasa side is best effort: if Rasa is unreachable the conversation
is still the bot's in Accord, and the next turn fails over to an officer as any engine outage does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session

from accord.policy_packs import pack_of
from bot.audit_link import append_audit
from compliance.protection import active_facts, effect_for
from core.enums import ConversationState, MessagePurpose
from core.protection import Effect
from storage.db import transaction
from storage.installation import dialogue_senders
from storage.tables import Cardholder, Conversation

log = structlog.get_logger("accord.dialogue")


class HandBackRefused(LookupError):
    """A protective state in force blocks the bot's replies: the officer keeps the conversation."""


def resume_bot(container: Any, conversation_id: int, *, officer: str = "officer") -> bool:
    """Give the conversation back to the bot. Returns whether Rasa acknowledged the resume event."""
    now = container.clock.now()
    with transaction(container.session_factory) as session:
        conversation = session.get(Conversation, conversation_id, with_for_update=True)
        if conversation is None:
            raise LookupError(f"conversation {conversation_id} not found")
        _bot_may_reply(container, session, conversation, now)
        conversation.state = ConversationState.BOT.value
        conversation.held_by = None
        append_audit(session, kind="conversation.handed_back", actor=officer, subject_type="conversation",
                     subject_id=str(conversation_id), payload={}, at=now)
    engine = container.extras.get("dialogue")
    resume = getattr(engine, "resume", None)
    if not callable(resume):
        return False
    acknowledged = bool(resume(dialogue_senders(container).sender_for(conversation_id)))
    if not acknowledged:
        log.warning("dialogue.resume_failed", conversation_id=conversation_id)
    return acknowledged


def _bot_may_reply(container: Any, session: Session, conversation: Conversation, now: datetime) -> None:
    """A bot whose every reply the gate would block is no bot: while a state such as distress, an attorney or
    (UK) a vulnerability blocks bot replies, the conversation stays with an officer."""
    states = active_facts(session, [conversation.cardholder_id], now).get(conversation.cardholder_id, ())
    if not states:
        return
    holder = session.get_one(Cardholder, conversation.cardholder_id)
    pack = pack_of(container, holder.jurisdiction)
    effect, state = (effect_for(pack, states, MessagePurpose.BOT_REPLY, conversation.contact_point_id)
                     if pack is not None else (Effect.BLOCK, states[0]))
    if effect is Effect.BLOCK and state is not None:
        raise HandBackRefused(f"the bot cannot answer while {state.kind.value} is in force (the "
                              f"{holder.jurisdiction} pack blocks bot replies); end the state first or keep the case")
