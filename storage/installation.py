"""This database's dialogue senders: conversation ids written into, and read back from, the engine's sender ids."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from core.dialogue_sender import conversation_of, sender_for
from storage.tables import Installation


class DialogueSenders:
    """Reads the namespace once, on first use: a database's namespace never changes."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._sessions = session_factory
        self._namespace: str | None = None
        self._loaded = False

    @property
    def namespace(self) -> str | None:
        if not self._loaded:
            with self._sessions() as session:
                self._namespace = session.scalar(
                    select(Installation.dialogue_namespace).where(Installation.id == 1))
            self._loaded = True
        return self._namespace

    def sender_for(self, conversation_id: int) -> str:
        return sender_for(conversation_id, self.namespace)

    def conversation_of(self, sender: str) -> int:
        return conversation_of(sender, self.namespace)


def dialogue_senders(container: Any) -> DialogueSenders:
    """The container's DialogueSenders, made on first use."""
    senders: DialogueSenders | None = container.extras.get("dialogue_senders")
    if senders is None:
        senders = container.extras["dialogue_senders"] = DialogueSenders(container.session_factory)
    return senders
