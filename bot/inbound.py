"""The inbound pipeline: every cardholder message, from a webhook or the simulator, takes this one path.

    persist (commit) -> keywords (opt-out / help / re-subscribe) -> officer holds it? leave it in their queue
                     -> otherwise the dialogue engine -> each reply through the compliance gate
                     -> engine down: one holding reply through the gate and an escalation for an officer

The message is committed before anything else runs, so a crash later loses nothing (it is on disk before any
reply leaves and before `receive` returns: bot/inbound_persist.py), and a provider's retry of the same message
id is answered from the stored row without running the steps again. Network calls (dialogue
engine, providers) never happen inside a database transaction.

Language follows the message: each turn goes to the model of the language the cardholder wrote in (else the one
they last wrote in here, else their profile's: core/turn_language.py), and its replies go out in that language or
the profile's, as the cardholder's policy pack says (`reply_language`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from bot import consent_actions, inbound_store
from bot.dialogue import NoDialogueEngine
from bot.escalations import open_escalation
from bot.inbound_persist import InboundRecorder
from bot.inbound_types import (
    Gate,
    InboundMessage,
    InboundOutcome,
    InboundRejected,
    InboundResult,
)
from bot.keywords import Keyword, KeywordMatcher, load_keywords
from compliance.contract import DeliveryOutcome, SendRequest
from core.clock import Clock
from core.enums import ConversationState, EscalationReason, MessagePurpose
from core.ports import DialogueEngine, DialogueReply, DialogueTurn, DialogueUnavailable
from core.turn_language import ReplyLanguagePolicy, reply_language, turn_language
from storage.db import transaction
from storage.installation import DialogueSenders, dialogue_senders

log = structlog.get_logger("accord.inbound")

# A jurisdiction's reply-language policy (its pack's `reply_language`); None where it has no pack.
ReplyPolicy = Callable[[str], ReplyLanguagePolicy | None]

__all__ = ["InboundMessage", "InboundOutcome", "InboundPipeline", "InboundRejected", "InboundResult", "pipeline_for"]


class InboundPipeline:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        clock: Clock,
        gate: Gate,
        keywords: KeywordMatcher,
        dialogue: DialogueEngine | None = None,
        metrics: Any = None,
        senders: DialogueSenders | None = None,
        reply_policy: ReplyPolicy | None = None,
    ) -> None:
        self._sessions = session_factory
        self._senders = senders or DialogueSenders(session_factory)
        self._recorder = InboundRecorder(session_factory)
        self._clock = clock
        self._gate = gate
        self._keywords = keywords
        self._dialogue: DialogueEngine = dialogue or NoDialogueEngine()
        self._metrics = metrics
        self._reply_policy = reply_policy

    @classmethod
    def from_container(cls, container: Any) -> InboundPipeline:
        gate = container.extras.get("gate") or getattr(container, "gate", None)
        if gate is None:
            raise RuntimeError("no compliance gate is wired (container.extras['gate']); replies cannot leave")
        return cls(
            session_factory=container.session_factory,
            clock=container.clock,
            gate=gate,
            keywords=load_keywords(container.settings.accord_config_dir),
            dialogue=container.extras.get("dialogue"),
            metrics=container.extras.get("metrics"),
            senders=dialogue_senders(container),
            reply_policy=_reply_policy_of(gate),
        )

    def receive(self, message: InboundMessage) -> InboundResult:
        message = message.validated()
        stored = self._recorder.persist(message)
        result: InboundResult | None = None
        try:
            result = self._route(message, stored)
        finally:
            # Before the caller acknowledges the message to its provider. A reply's decision (sent, deferred or
            # blocked alike) committed synchronously after the message, so it flushed the message too.
            self._recorder.make_durable(stored, decided_since=result is not None and bool(result.replies))
        if self._metrics is not None:
            self._metrics.inbound.labels(channel=message.channel.value, outcome=result.outcome.value).inc()
        log.info(
            "inbound.handled",
            channel=message.channel.value,
            address=message.address,
            message_id=result.message_id,
            conversation_id=result.conversation_id,
            outcome=result.outcome.value,
            replies=[r.status for r in result.replies],
        )
        return result

    # -- step 2 onwards: route ------------------------------------------------------------------------------------

    def _route(self, message: InboundMessage, stored: inbound_store.Persisted) -> InboundResult:
        if stored.duplicate:
            return _result(stored, InboundOutcome.DUPLICATE, duplicate=True)
        if stored.cardholder_id is None:
            log.warning("inbound.unknown_sender", channel=message.channel.value, address=message.address)
            return _result(stored, InboundOutcome.UNKNOWN_SENDER)
        keyword = self._keywords.match(message.text)
        if keyword is not None:
            return self._keyword(keyword, stored)
        if stored.conversation_state == ConversationState.OFFICER.value:
            return _result(stored, InboundOutcome.OFFICER_QUEUE)
        return self._converse(message, stored)

    def _keyword(self, keyword: Keyword, stored: inbound_store.Persisted) -> InboundResult:
        # Keyword confirmations keep the profile language: a keyword is a carrier code (STOP, TD) that Chinese and
        # English writers both send, not evidence of the language the cardholder reads.
        assert stored.contact_point_id is not None
        now = self._clock.now()
        template = self._keywords.config.group(keyword).reply_template
        if keyword is Keyword.HELP:
            outcome = self._send(stored, MessagePurpose.HELP, template)
            return _result(stored, InboundOutcome.HELP, replies=_some(outcome))
        with transaction(self._sessions) as session:
            if keyword is Keyword.OPT_OUT:
                changed = consent_actions.record_opt_out(
                    session, stored.contact_point_id, at=now, source_message_id=stored.message_id
                )
            else:
                changed = consent_actions.record_resubscribe(
                    session, stored.contact_point_id, at=now, source_message_id=stored.message_id
                )
        kind = InboundOutcome.OPTED_OUT if keyword is Keyword.OPT_OUT else InboundOutcome.RESUBSCRIBED
        if not changed:  # a repeated STOP (or START) gets no second confirmation
            return _result(stored, kind)
        purpose = (
            MessagePurpose.OPT_OUT_CONFIRMATION
            if keyword is Keyword.OPT_OUT
            else MessagePurpose.RESUBSCRIBE_CONFIRMATION
        )
        outcome = self._send(stored, purpose, template)
        return _result(stored, kind, replies=_some(outcome))

    def _converse(self, message: InboundMessage, stored: inbound_store.Persisted) -> InboundResult:
        assert stored.conversation_id is not None and stored.cardholder_id is not None
        # The message is read by its own language's model; the pack says whether the answer follows it.
        language = turn_language(stored.message_language, stored.previous_language, stored.language)
        replying_in = reply_language(self._policy(stored), language, stored.language)
        turn = DialogueTurn(
            conversation_id=stored.conversation_id,
            sender_id=self._senders.sender_for(stored.conversation_id),
            text=message.text,
            language=language,
            metadata={
                "channel": message.channel.value,
                "cardholder_id": stored.cardholder_id,
                "contact_point_id": stored.contact_point_id,
                "message_id": stored.message_id,
                "verified": stored.verified,
            },
        )
        try:
            replies = self._ask_dialogue(turn)
        except Exception as exc:  # an engine bug must not drop the message either
            detail = exc.__class__.__name__ if not isinstance(exc, DialogueUnavailable) else "unavailable"
            log.warning("inbound.dialogue_unavailable", conversation_id=stored.conversation_id, error=detail)
            return self._hand_over(stored, EscalationReason.DIALOGUE_UNAVAILABLE, {"error": detail},
                                   language=replying_in)
        # One batch through the gate: the replies are decided in order in one transaction and sent in order, packed
        # into as few messages as the channel's limit allows (one turn, one message: compliance/turn_message.py).
        outcomes = self._send_all(stored, [(self._reply_purpose(r.template_id), r.template_id, r.params)
                                           for r in replies], language=replying_in, combine=True)
        sent: list[DeliveryOutcome] = []
        for outcome in outcomes:
            if outcome is None:
                return self._hand_over(
                    stored, EscalationReason.FALLBACK, {"error": "reply_failed"}, holding=False,
                    replies=tuple(sent), language=replying_in,
                )
            sent.append(outcome)
        return _result(stored, InboundOutcome.REPLIED, replies=tuple(sent))

    def _reply_purpose(self, template_id: str) -> MessagePurpose:
        # A protective state's acknowledgement ("we have noted your lawyer's details") is its own purpose, which
        # the state allows while it blocks ordinary bot replies. The catalog says which templates are such.
        resolve = getattr(self._gate, "reply_purpose", None)
        return resolve(template_id) if resolve is not None else MessagePurpose.BOT_REPLY

    def _policy(self, stored: inbound_store.Persisted) -> ReplyLanguagePolicy:
        policy = self._reply_policy(stored.jurisdiction) if self._reply_policy and stored.jurisdiction else None
        return policy or "message"  # the packs' default; with no pack the gate blocks the reply anyway

    def _ask_dialogue(self, turn: DialogueTurn) -> list[DialogueReply]:
        if self._metrics is None:
            return list(self._dialogue.handle(turn))
        with self._metrics.time_dialogue():
            return list(self._dialogue.handle(turn))

    def _hand_over(
        self,
        stored: inbound_store.Persisted,
        reason: EscalationReason,
        detail: dict[str, Any],
        *,
        holding: bool = True,
        replies: tuple[DeliveryOutcome, ...] = (),
        language: str | None = None,
    ) -> InboundResult:
        """Queue the conversation for an officer. The holding reply goes out once per open escalation, so a
        cardholder who keeps writing while the engine is down is not answered with the same line every time."""
        assert stored.conversation_id is not None and stored.cardholder_id is not None
        with transaction(self._sessions) as session:
            existing = inbound_store.open_escalation_for(session, stored.conversation_id)
            if existing is not None:
                return _result(
                    stored, InboundOutcome.HANDED_TO_OFFICER, escalation_id=existing.id, replies=replies
                )
            escalation = open_escalation(
                session,
                cardholder_id=stored.cardholder_id,
                conversation_id=stored.conversation_id,
                account_id=stored.account_id,
                reason=reason,
                detail={**detail, "message_id": stored.message_id},
                at=self._clock.now(),
            )
            escalation_id = escalation.id
        if holding:
            outcome = self._send(stored, MessagePurpose.BOT_REPLY, self._keywords.config.holding_reply_template,
                                 language=language)
            replies = replies + _some(outcome)
        return _result(stored, InboundOutcome.HANDED_TO_OFFICER, escalation_id=escalation_id, replies=replies)

    def _send(
        self,
        stored: inbound_store.Persisted,
        purpose: MessagePurpose,
        template_id: str,
        params: dict[str, Any] | None = None,
        *,
        language: str | None = None,
    ) -> DeliveryOutcome | None:
        """Hand one reply to the gate. A gate error is logged and reported as None; the inbound row is safe."""
        return self._send_all(stored, [(purpose, template_id, params)], language=language)[0]

    def _send_all(
        self,
        stored: inbound_store.Persisted,
        replies: list[tuple[MessagePurpose, str, dict[str, Any] | None]],
        *,
        language: str | None = None,
        combine: bool = False,
    ) -> list[DeliveryOutcome | None]:
        """Hand replies to the gate as one batch; None in place of a reply the gate could not handle. `language`:
        the turn's reply language; None (keyword confirmations) lets the gate use the profile's. `combine`: join
        consecutive replies of one purpose into messages as long as the channel allows (the gate's
        deliver_combined); the outcomes are then one per message sent, not one per reply."""
        assert stored.cardholder_id is not None
        if not replies:
            return []
        requests = [SendRequest(
            cardholder_id=stored.cardholder_id,
            channel=stored.channel,
            purpose=purpose,
            template_id=template_id,
            author="bot",
            params=dict(params or {}),
            account_id=stored.account_id,
            conversation_id=stored.conversation_id,
            contact_point_id=stored.contact_point_id,
            language=language,
        ) for purpose, template_id, params in replies]
        combined = getattr(self._gate, "deliver_combined", None) if combine and len(requests) > 1 else None
        try:
            outcomes = combined(requests) if combined is not None else self._gate.deliver_many(requests)
        except Exception as exc:
            outcomes = [exc] * len(requests)
        results: list[DeliveryOutcome | None] = []
        for n, outcome in enumerate(outcomes):
            if isinstance(outcome, Exception):
                # Combined, the outcomes are one per message: the first reply stands for a batch that failed whole.
                request = requests[n] if len(outcomes) == len(requests) else requests[0]
                log.error(
                    "inbound.reply_failed", template_id=request.template_id, purpose=request.purpose.value,
                    conversation_id=stored.conversation_id, error=outcome.__class__.__name__,
                    exc_info=outcome,
                )
                results.append(None)
            else:
                results.append(outcome)
        return results


def _result(
    stored: inbound_store.Persisted,
    outcome: InboundOutcome,
    *,
    duplicate: bool = False,
    replies: tuple[DeliveryOutcome, ...] = (),
    escalation_id: int | None = None,
) -> InboundResult:
    return InboundResult(
        message_id=stored.message_id,
        outcome=outcome,
        cardholder_id=stored.cardholder_id,
        conversation_id=stored.conversation_id,
        duplicate=duplicate,
        replies=replies,
        escalation_id=escalation_id,
    )


def _some(outcome: DeliveryOutcome | None) -> tuple[DeliveryOutcome, ...]:
    return () if outcome is None else (outcome,)


def _reply_policy_of(gate: Any) -> ReplyPolicy | None:
    """The reply-language policy of the packs the gate decides by (a test's stand-in gate may have none)."""
    pack_for = getattr(gate, "pack_for", None)
    if pack_for is None:
        return None

    def policy(jurisdiction: str) -> ReplyLanguagePolicy | None:
        pack = pack_for(jurisdiction)
        return pack.reply_language if pack is not None else None

    return policy


def pipeline_for(container: Any) -> InboundPipeline:
    """The container's one pipeline, built on first use, shared by webhooks and the simulator."""
    pipeline = container.extras.get("inbound")
    if pipeline is None:
        pipeline = InboundPipeline.from_container(container)
        container.extras["inbound"] = pipeline
    return pipeline
