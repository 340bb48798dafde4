"""The language of one inbound turn, and the language its replies go out in. Pure: the pipeline passes the facts.

The message decides when it can (core.language_detect); a message that cannot ("4417", "ok") keeps the language
the cardholder last wrote in within this conversation, so answering a card-digits question in English does not
send the next turn to the Chinese model; only with neither do we fall back to the profile. The profile is what
the bank recorded, often long ago; what the cardholder writes now is better evidence of what they read.
"""

from __future__ import annotations

from typing import Literal

ReplyLanguagePolicy = Literal["message", "profile"]  # compliance.packs.Pack.reply_language


def turn_language(detected: str | None, previous: str | None, profile: str | None, *, default: str = "en") -> str:
    """The language the turn is understood in (which Rasa model reads it)."""
    return detected or previous or profile or default


def reply_language(policy: ReplyLanguagePolicy, turn: str, profile: str | None) -> str:
    """The language of the bot's replies to the turn: the cardholder's own ("message") or their profile's, as the
    policy pack says. With no profile language the turn's is the only one we know."""
    if policy == "profile" and profile:
        return profile
    return turn
