"""What Accord does with each kind of Telegram message. Synchronous; the PTB handlers call it off the loop.

- text (including /stop and /help, which the keyword list knows) goes through the inbound pipeline like an SMS;
- `/start <token>` redeems a binding link; a shared contact binds when its phone and user id match.

Binding messages are stored in the same transaction as the binding itself, with the token blanked out: a link
is a credential until it is used or expires. An unbound chat gets no reply at all: Accord does not know who is
writing, so the gate has nobody to check a reply against, and the privacy rule forbids guessing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from bot import binding, inbound_store
from bot.channels.telegram import provider_id
from bot.inbound import InboundMessage, InboundResult, pipeline_for
from compliance.contract import DeliveryOutcome, SendRequest
from core.enums import Channel, MessagePurpose
from storage.db import transaction

log = structlog.get_logger("accord.telegram.inbound")

BOUND_TEMPLATE = "binding.confirmed"


@dataclass(frozen=True)
class ChatMessage:
    chat_id: int
    message_id: int
    from_user_id: int | None


@dataclass(frozen=True)
class BindingReply:
    result: binding.BindingResult
    duplicate: bool = False
    reply: DeliveryOutcome | None = None


class TelegramInbound:
    def __init__(self, container: Any) -> None:
        self._container = container

    def text(self, message: ChatMessage, text: str) -> InboundResult:
        return pipeline_for(self._container).receive(InboundMessage(
            channel=Channel.TELEGRAM, address=str(message.chat_id), text=text,
            received_at=self._container.clock.now(),
            provider_message_id=provider_id(message.chat_id, message.message_id),
        ))

    def start(self, message: ChatMessage, token: str) -> BindingReply:
        now = self._container.clock.now()
        return self._bind(message, "/start [binding link]",
                          lambda session: binding.redeem(session, token, chat_id=message.chat_id, at=now))

    def contact(self, message: ChatMessage, *, phone: str, contact_user_id: int | None) -> BindingReply:
        now = self._container.clock.now()
        return self._bind(message, "[shared contact]", lambda session: binding.bind_by_contact(
            session, chat_id=message.chat_id, from_user_id=message.from_user_id or 0,
            contact_user_id=contact_user_id, phone=phone, at=now))

    def _bind(self, message: ChatMessage, stored_text: str, attempt: Any) -> BindingReply:
        pid = provider_id(message.chat_id, message.message_id)
        now = self._container.clock.now()
        with transaction(self._container.session_factory) as session:
            claim = inbound_store.claim_provider_id(session, Channel.TELEGRAM.value, pid)
            if claim.duplicate is not None:  # Telegram redelivered the update: answered already
                return BindingReply(binding.BindingResult(binding.BindingOutcome.ALREADY_BOUND), duplicate=True)
            result: binding.BindingResult = attempt(session)
            links: dict[str, Any] = {"from_address": str(message.chat_id)}
            if result.bound and result.contact_point_id is not None:
                point = inbound_store.find_contact_point(session, Channel.TELEGRAM.value, str(message.chat_id))
                assert point is not None
                conversation = inbound_store.open_conversation(session, point, now)
                links = {"cardholder_id": point.cardholder_id, "contact_point_id": point.id,
                         "conversation_id": conversation.id}
            session.add(inbound_store.inbound_row(Channel.TELEGRAM.value, stored_text,
                                                     claim.stored_id, now, **links))
        log.info("telegram.binding", outcome=result.outcome.value, chat_id=message.chat_id)
        if result.outcome is not binding.BindingOutcome.BOUND:
            return BindingReply(result)
        return BindingReply(result, reply=self._confirm(result, links.get("conversation_id")))

    def _confirm(self, result: binding.BindingResult, conversation_id: int | None) -> DeliveryOutcome | None:
        assert result.cardholder_id is not None
        gate = self._container.extras.get("gate")
        if gate is None:
            log.error("telegram.binding_unconfirmed", reason="no compliance gate wired")
            return None
        try:
            outcome: DeliveryOutcome = gate.deliver(SendRequest(
                cardholder_id=result.cardholder_id, channel=Channel.TELEGRAM, purpose=MessagePurpose.BOT_REPLY,
                template_id=BOUND_TEMPLATE, author="bot", conversation_id=conversation_id,
                contact_point_id=result.contact_point_id,
            ))
        except Exception as exc:  # the binding is stored; a failed confirmation must not undo it
            log.error("telegram.binding_confirmation_failed", error=type(exc).__name__, exc_info=True)
            return None
        return outcome
