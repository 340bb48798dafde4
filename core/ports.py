"""Ports: the small interfaces through which the core reaches the outside world.

Adapters (sandbox, Twilio, Telegram, Rasa) implement these; the bootstrap wires real ones or fakes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from core.enums import Channel


@dataclass(frozen=True, slots=True)
class OutboundText:
    """What a channel adapter needs to deliver one message. Built only by the compliance gate."""

    channel: Channel
    address: str  # E.164 number or Telegram chat id
    text: str
    message_id: int  # Accord's message row, for status callbacks and idempotency
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_message_id: str | None
    accepted: bool
    error_code: str | None = None
    error_detail: str | None = None
    permanent: bool = False  # True: do not retry (invalid number, unsubscribed)


class ChannelAdapter(Protocol):
    channel: Channel
    name: str  # "sandbox", "twilio", "telegram"

    def send(self, message: OutboundText) -> SendResult: ...

    def lookup(self, provider_message_id: str) -> str | None:
        """Ask the provider for a message's status after a crash; None when it cannot tell."""
        ...


class TransientChannelError(Exception):
    """Timeout, 5xx or 429: the dispatcher retries with backoff."""

    def __init__(self, detail: str, retry_after_s: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class DialogueTurn:
    conversation_id: int
    sender_id: str
    text: str
    language: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DialogueReply:
    template_id: str
    params: dict[str, Any] = field(default_factory=dict)


class DialogueEngine(Protocol):
    def handle(self, turn: DialogueTurn) -> list[DialogueReply]:
        """Raise DialogueUnavailable when the engine cannot answer; the pipeline then hands over to a person."""
        ...

    def healthy(self) -> bool: ...


class DialogueUnavailable(Exception):
    pass
