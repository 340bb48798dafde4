"""The inbound pipeline's vocabulary: what arrives, what comes out, and the gate it replies through."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from compliance.contract import DeliveryOutcome, SendRequest
from core.clock import ensure_utc
from core.enums import Channel

MAX_TEXT_CHARS = 4096  # Telegram's own limit; longer SMS arrive already split by the carrier
MAX_ADDRESS_CHARS = 64
MAX_PROVIDER_ID_CHARS = 64


class Gate(Protocol):
    """Every DeliveryOutcome returned stands for a decision committed synchronously (waiting for the WAL flush)
    before the call returns: the pipeline relies on that commit to flush the inbound message (make_durable)."""

    def deliver(self, request: SendRequest) -> DeliveryOutcome: ...

    def deliver_many(self, requests: list[SendRequest]) -> list[DeliveryOutcome | Exception]: ...


class InboundRejected(ValueError):
    """The inbound message itself is malformed; the message says which field and why."""


class InboundOutcome(StrEnum):
    UNKNOWN_SENDER = "unknown_sender"
    DUPLICATE = "duplicate"
    OPTED_OUT = "opted_out"
    HELP = "help"
    RESUBSCRIBED = "resubscribed"
    OFFICER_QUEUE = "officer_queue"
    REPLIED = "replied"
    HANDED_TO_OFFICER = "handed_to_officer"


@dataclass(frozen=True)
class InboundMessage:
    channel: Channel
    address: str  # E.164 phone number or Telegram chat id, as the provider reports it
    text: str
    received_at: datetime
    provider_message_id: str | None = None  # Twilio MessageSid, Telegram update/message id: the dedupe key

    def validated(self) -> InboundMessage:
        channel = self.channel
        if not isinstance(channel, Channel):
            try:
                channel = Channel(str(channel))
            except ValueError as exc:
                raise InboundRejected(f"channel: unknown channel {self.channel!r}") from exc
        address = (self.address or "").strip()
        if not address:
            raise InboundRejected("address: empty sender address")
        if len(address) > MAX_ADDRESS_CHARS:
            raise InboundRejected(f"address: longer than {MAX_ADDRESS_CHARS} characters")
        if not isinstance(self.text, str):
            raise InboundRejected("text: not a string")
        if len(self.text) > MAX_TEXT_CHARS:
            raise InboundRejected(f"text: longer than {MAX_TEXT_CHARS} characters")
        if "\x00" in self.text:
            raise InboundRejected("text: contains a NUL character")
        pid = self.provider_message_id
        if pid is not None and (not pid.strip() or len(pid) > MAX_PROVIDER_ID_CHARS):
            raise InboundRejected(f"provider_message_id: empty or longer than {MAX_PROVIDER_ID_CHARS} characters")
        try:
            received_at = ensure_utc(self.received_at)
        except ValueError as exc:
            raise InboundRejected(f"received_at: {exc}") from exc
        return InboundMessage(channel, address, self.text, received_at, pid)


@dataclass(frozen=True)
class InboundResult:
    message_id: int
    outcome: InboundOutcome
    cardholder_id: int | None = None
    conversation_id: int | None = None
    duplicate: bool = False
    replies: tuple[DeliveryOutcome, ...] = ()
    escalation_id: int | None = None
