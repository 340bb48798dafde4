"""The default dialogue engine when none is configured: it never answers, so every turn goes to an officer.

This keeps `make run` honest before a Rasa server exists: the cardholder gets a holding reply and an officer
gets an escalation, exactly as when the real engine is down.
"""

from __future__ import annotations

from core.ports import DialogueReply, DialogueTurn, DialogueUnavailable


class NoDialogueEngine:
    name = "none"

    def handle(self, turn: DialogueTurn) -> list[DialogueReply]:
        raise DialogueUnavailable("no dialogue engine is configured (set RASA_URL to connect one)")

    def healthy(self) -> bool:
        return False
