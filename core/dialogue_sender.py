"""The dialogue engine's sender id for a conversation, and back.

Rasa keeps each conversation's dialogue state under a sender id, in a tracker store that is not Accord's
database. Conversation ids restart at 1 in every new database, so a sender id made of the id alone would hand a
new conversation the dialogue state of an old one whenever a database is replaced and the tracker store kept.
Each database therefore carries a namespace of its own (`installation.dialogue_namespace`), written into every
sender id: "<namespace>-<conversation id>". A database that held conversations before namespaces existed has
none, and keeps the bare id its trackers already use.
"""

from __future__ import annotations

import re

NAMESPACE_PATTERN = re.compile(r"[0-9a-f]{8,32}")
_SENDER = re.compile(rf"(?:(?P<namespace>{NAMESPACE_PATTERN.pattern})-)?(?P<conversation>[1-9][0-9]{{0,17}})")


class ForeignSender(ValueError):
    """A sender id that does not name a conversation of this database."""


def sender_for(conversation_id: int, namespace: str | None) -> str:
    if conversation_id < 1:
        raise ValueError(f"conversation id must be positive, got {conversation_id}")
    return f"{namespace}-{conversation_id}" if namespace else str(conversation_id)


def conversation_of(sender: str, namespace: str | None) -> int:
    """The conversation id in `sender`; ForeignSender (naming why) if it is not one of this database's."""
    match = _SENDER.fullmatch(sender)
    if match is None:
        raise ForeignSender(f"dialogue sender {sender[:64]!r} is not '<namespace>-<conversation id>' "
                            "or a conversation id")
    if match["namespace"] != (namespace or None):
        raise ForeignSender(f"dialogue sender {sender!r} belongs to another Accord database "
                            "(its namespace is not this database's)")
    return int(match["conversation"])
