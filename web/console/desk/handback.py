"""Handing a conversation back to the bot: the escalation is resolved, the conversation returns to the bot and
the dialogue engine resumes it (Rasa's `resume`), so the cardholder's next message is answered again.
"""

from __future__ import annotations

from accord.bootstrap import Container
from storage.db import transaction
from web.console import audit_trail
from web.console.deps import CurrentUser
from web.console.desk import wiring
from web.console.desk.outcomes import resolve_escalations


def hand_back(container: Container, conversation_id: int, user: CurrentUser) -> str | None:
    """Returns None on success, or why the conversation could not be handed back (then nothing changed).

    The dialogue layer's `resume_bot` returns the conversation to the bot, audits the hand-back under the
    officer's name and tells Rasa to resume (best effort: an unreachable Rasa fails over to officers again)."""
    try:
        wiring.resume_bot(container, conversation_id, user.actor)
    except LookupError as exc:
        return str(exc)
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        resolve_escalations(s, conversation_id, "handed_back", None, now)
        audit_trail.record(s, user, "escalation_resolved", "conversation", conversation_id, now,
                           outcome="handed_back")
    return None
