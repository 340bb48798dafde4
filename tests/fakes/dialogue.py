"""A scripted dialogue engine implementing core.ports.DialogueEngine, for pipeline and web tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.ports import DialogueReply, DialogueTurn, DialogueUnavailable


@dataclass
class ScriptedDialogue:
    replies: list[DialogueReply] = field(default_factory=list)
    up: bool = True
    error: Exception | None = None  # raised from handle() instead of answering
    turns: list[DialogueTurn] = field(default_factory=list)
    on_turn: Callable[[DialogueTurn], None] | None = None  # runs inside handle(), e.g. to inspect the database

    def handle(self, turn: DialogueTurn) -> list[DialogueReply]:
        self.turns.append(turn)
        if self.on_turn is not None:
            self.on_turn(turn)
        if self.error is not None:
            raise self.error
        if not self.up:
            raise DialogueUnavailable("scripted outage")
        return list(self.replies)

    def healthy(self) -> bool:
        return self.up
