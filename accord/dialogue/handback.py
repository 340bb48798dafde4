"""An officer hands a conversation back to the bot: Accord's state returns to "bot" and Rasa gets `resume`.

The officers' console calls `resume_bot`. The Rasa side is best effort: if Rasa is unreachable the conversation
is still the bot's in Accord, and the next turn fails over to an officer as any engine outage does.
"""

from __future__ import annotations

from typing import Any

import structlog

from bot.audit_link import append_audit
from core.enums import ConversationState
from storage.db import transaction
from storage.installation import dialogue_senders
from storage.tables import Conversation

log = structlog.get_logger("accord.dialogue")


def resume_bot(container: Any, conversation_id: int, *, officer: str = "officer") -> bool:
    """Give the conversation back to the bot. Returns whether Rasa acknowledged the resume event."""
    now = container.clock.now()
    with transaction(container.session_factory) as session:
        conversation = session.get(Conversation, conversation_id, with_for_update=True)
        if conversation is None:
            raise LookupError(f"conversation {conversation_id} not found")
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
