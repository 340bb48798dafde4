"""The compliance gate: the one door every outbound message passes, and the only caller of a channel's `send`.

`deliver(request)`:
  1. One transaction: lock the cardholder's contact-ledger row, read the facts, run every check, write the
     decision, the message row (sending / deferred / blocked) and its audit event, link the outbox row (if any)
     to the message, update the ledger; commit. Concurrent workers serialise on the ledger row, so two sends
     cannot both slip under the same cap.
  2. Only if allowed, outside any transaction: the channel adapter's `send`.
  3. A second transaction records the result: sent (provider id, time) or failed (error code; a permanent
     refusal about the address marks it opted out or invalid; a transient one is reported retryable).
`evaluate(request)` runs the same checks as a dry run and writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from compliance import consent
from compliance.audit import AuditLog
from compliance.catalog import Catalog
from compliance.checks import Context
from compliance.contract import Check, Decision, DeliveryOutcome, SendRequest
from compliance.decide import Evaluation, evaluate
from compliance.facts import (
    HolderFacts,
    LedgerFacts,
    UnknownCardholder,
    ledger_facts,
    load_facts,
    load_holder,
)
from compliance.hours import resolve_zone
from compliance.packs import PackRegistry
from compliance.provider_errors import INVALID_ADDRESS_CODES, OPT_OUT_CODES
from compliance.reasons import Reason
from core.clock import Clock
from core.enums import Channel, DecisionOutcome, Direction, MessageStatus, OptOutMethod
from core.ports import ChannelAdapter, OutboundText, SendResult, TransientChannelError
from storage.db import transaction
from storage.tables import ComplianceDecision, ContactLedger, Message, OutboxItem

log = structlog.get_logger("accord.gate")
_LEDGER = cast(Table, ContactLedger.__table__)
_DECISIONS = cast(Table, ComplianceDecision.__table__)
_MESSAGES = cast(Table, Message.__table__)
_OUTBOX = cast(Table, OutboxItem.__table__)

# Statements built once with bind parameters: the gate runs them for every message.
_LEDGER_COLUMNS = (_LEDGER.c.contacts_total, _LEDGER.c.last_contact_at, _LEDGER.c.first_disclosure_at)
_THIS_LEDGER = _LEDGER.c.cardholder_id == bindparam("holder")
_LOCK_PG = select(*_LEDGER_COLUMNS).where(_THIS_LEDGER).with_for_update()
_LOCK_SQLITE = update(_LEDGER).where(_THIS_LEDGER).values(contacts_total=_LEDGER.c.contacts_total).returning(
    *_LEDGER_COLUMNS)
_COUNT_CONTACT = update(_LEDGER).where(_THIS_LEDGER).values(last_contact_at=bindparam("at"),
                                                            contacts_total=_LEDGER.c.contacts_total + 1)
_COUNT_FIRST_CONTACT = _COUNT_CONTACT.values(first_disclosure_at=bindparam("at"))
_INSERT_DECISION = insert(_DECISIONS).returning(_DECISIONS.c.id)
_INSERT_MESSAGE = insert(_MESSAGES).returning(_MESSAGES.c.id)
_LINK_OUTBOX = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("outbox")).values(message_id=bindparam("message"))
STATUS_OF = {DecisionOutcome.ALLOW: MessageStatus.SENDING, DecisionOutcome.DEFER: MessageStatus.DEFERRED,
             DecisionOutcome.BLOCK: MessageStatus.BLOCKED}


@dataclass(frozen=True)
class _Recorded:
    message_id: int
    decision_id: int


class ComplianceGate:
    def __init__(self, session_factory: sessionmaker[Session], clock: Clock, packs: PackRegistry, catalog: Catalog,
                 channels: Mapping[Channel, ChannelAdapter], audit: AuditLog, *, metrics: Any = None) -> None:
        self._sessions = session_factory
        self._clock = clock
        self._packs = packs
        self._catalog = catalog
        # Private on purpose: the adapters are reachable for sending only through deliver().
        self._channels = dict(channels)
        self._audit = audit
        self._metrics = metrics

    def policy_versions(self) -> dict[str, str]:
        return {**self._packs.policy_versions(), **self._catalog.policy_versions()}

    def channel_names(self) -> dict[str, str]:
        return {channel.value: getattr(adapter, "name", type(adapter).__name__) for channel, adapter in self._channels.items()}

    # -- dry run ---------------------------------------------------------------------------------------------

    def evaluate(self, request: SendRequest) -> Decision:
        """What deliver() would decide now, and the exact text it would send. Writes nothing."""
        now = self._clock.now()
        with self._sessions() as session:
            try:
                holder = load_holder(session, request.cardholder_id)
                return self._evaluate(session, request, holder, now).decision
            finally:
                session.rollback()

    # -- the one door out ------------------------------------------------------------------------------------

    def deliver(self, request: SendRequest) -> DeliveryOutcome:
        now = self._clock.now()
        with transaction(self._sessions) as session:
            ledger = self._lock_ledger(session, request.cardholder_id)
            holder = load_holder(session, request.cardholder_id)
            evaluation = self._evaluate(session, request, holder, now, ledger)
            recorded = self._record(session, request, evaluation, now)
        decision = evaluation.decision
        log.info("gate.decision", message_id=recorded.message_id, outcome=decision.outcome.value,
                 reasons=list(decision.reasons), rule=decision.rule, outbox_id=request.outbox_id)
        if not decision.allowed:
            status = STATUS_OF[decision.outcome].value
            self._count(request, status, decision.reasons)
            return DeliveryOutcome(decision, recorded.message_id, recorded.decision_id, status)
        return self._send(request, evaluation, recorded)

    def _evaluate(self, session: Session, request: SendRequest, holder: HolderFacts, now: datetime,
                  ledger: LedgerFacts | None = None) -> Evaluation:
        pack = self._packs.get(holder.jurisdiction)
        if pack is None:
            return _no_pack(holder, now)
        longest = max(cap.window_hours for cap in pack.frequency.caps)
        facts = load_facts(session, request, holder, now, longest, ledger=ledger,
                           replies=request.purpose in pack.frequency.replies.purposes)
        language = request.language or holder.language
        ctx = Context(request, pack, facts, resolve_zone(holder.timezone), language, request.channel in self._channels)
        return evaluate(ctx, self._catalog)

    def _lock_ledger(self, session: Session, cardholder_id: int) -> LedgerFacts | None:
        """Serialise every decision for one cardholder on their ledger row, created on first use."""
        postgres = session.get_bind().dialect.name == "postgresql"
        # SQLite: a write must come first, so this transaction holds the database write lock before it reads.
        lock = _LOCK_PG if postgres else _LOCK_SQLITE
        row = session.execute(lock, {"holder": cardholder_id}).first()
        if row is None:
            self._create_ledger(session, cardholder_id, postgresql.insert if postgres else sqlite.insert)
            row = session.execute(lock, {"holder": cardholder_id}).one()
        return ledger_facts(row)

    @staticmethod
    def _create_ledger(session: Session, cardholder_id: int, insert: Any) -> None:
        try:
            session.execute(insert(_LEDGER).values(cardholder_id=cardholder_id, contacts_total=0)
                            .on_conflict_do_nothing(index_elements=["cardholder_id"]))
        except IntegrityError as exc:
            raise UnknownCardholder(f"no cardholder with id {cardholder_id}") from exc

    def _record(self, session: Session, request: SendRequest, evaluation: Evaluation, now: datetime) -> _Recorded:
        decision = evaluation.decision
        decision_id = session.execute(_INSERT_DECISION, dict(
            outcome=decision.outcome.value, rule=decision.rule, reasons=list(decision.reasons),
            checks=[{"rule": c.rule, "passed": c.passed, "detail": c.detail, "reason": c.reason} for c in decision.checks],
            policy_pack=decision.policy_pack, policy_version=decision.policy_version, counters=decision.counters,
            timezone=decision.timezone, local_time=decision.local_time, defer_until=decision.defer_until,
            decided_at=now,
        )).scalar_one()
        facts, template = evaluation.facts, evaluation.template
        template_id = template.id if template else (None if request.free_text is not None else request.template_id)
        text = decision.text or ""
        message_id = session.execute(_INSERT_MESSAGE, dict(
            cardholder_id=request.cardholder_id,
            account_id=facts.account.id if facts and facts.account else None,
            conversation_id=facts.conversation.id if facts and facts.conversation else None,
            contact_point_id=facts.point.id if facts and facts.point else None,
            channel=request.channel.value, direction=Direction.OUTBOUND.value,
            status=STATUS_OF[decision.outcome].value, purpose=request.purpose.value, author=request.author,
            template_id=template_id, template_version=template.version if template else None,
            language=decision.language, text=text, created_at=now, decision_id=decision_id,
            counts_toward_cap=decision.allowed and evaluation.counted,
        )).scalar_one()
        if request.outbox_id is not None:
            # The outbox row learns its message in this same transaction: a dispatcher that dies after the commit
            # leaves a row the reconciler settles exactly (provider lookup or review), never a blind resend.
            session.execute(_LINK_OUTBOX, {"outbox": request.outbox_id, "message": message_id})
        if decision.allowed:
            counted = _COUNT_FIRST_CONTACT if evaluation.first_disclosure else _COUNT_CONTACT
            session.execute(counted, {"holder": request.cardholder_id, "at": now})
        # Last statement before commit: the audit head stays locked for as short a time as possible.
        self._audit.append(session, request.author, "compliance.decision", "message", message_id, {
            "decision_id": decision_id, "outcome": decision.outcome.value, "rule": decision.rule,
            "reasons": list(decision.reasons), "policy": f"{decision.policy_pack} {decision.policy_version}",
            "cardholder_id": request.cardholder_id, "channel": request.channel.value,
            "purpose": request.purpose.value, "template": template_id,
            "template_version": template.version if template else None, "outbox_id": request.outbox_id,
            "defer_until": decision.defer_until, "text_sha256": _sha256(text),
        }, at=now)
        return _Recorded(message_id, decision_id)

    # -- after the decision: the send and its result ---------------------------------------------------------

    def _send(self, request: SendRequest, evaluation: Evaluation, recorded: _Recorded) -> DeliveryOutcome:
        decision, point = evaluation.decision, evaluation.facts.point if evaluation.facts else None
        adapter = self._channels[request.channel]
        key = f"outbox-{request.outbox_id}" if request.outbox_id is not None else f"message-{recorded.message_id}"
        address = point.address if point else ""
        outbound = OutboundText(request.channel, address, decision.text or "", recorded.message_id, key)
        try:
            result = adapter.send(outbound)
        except TransientChannelError as exc:
            return self._failed(request, evaluation, recorded, "transient", str(exc), retryable=True,
                                retry_after_s=exc.retry_after_s)
        except Exception as exc:  # the provider may or may not have the message: never resend blindly
            log.error("gate.send_unknown", message_id=recorded.message_id, error=type(exc).__name__)
            return self._settle_review(request, decision, recorded, f"{type(exc).__name__}: {exc}")
        if result.accepted:
            return self._sent(request, decision, recorded, result)
        return self._failed(request, evaluation, recorded, result.error_code or "refused", result.error_detail or "",
                            retryable=not result.permanent)

    def _sent(self, request: SendRequest, decision: Decision, recorded: _Recorded, result: SendResult) -> DeliveryOutcome:
        at = self._clock.now()
        with transaction(self._sessions) as session:
            session.execute(update(Message).where(Message.id == recorded.message_id).values(
                status=MessageStatus.SENT.value, provider_message_id=result.provider_message_id, sent_at=at))
            self._audit.append(session, "gate", "message.sent", "message", recorded.message_id,
                               {"provider_message_id": result.provider_message_id}, at=at)
        self._count(request, "sent", ())
        return DeliveryOutcome(decision, recorded.message_id, recorded.decision_id, "sent",
                               provider_message_id=result.provider_message_id)

    def _failed(self, request: SendRequest, evaluation: Evaluation, recorded: _Recorded, code: str, detail: str, *,
                retryable: bool, retry_after_s: float | None = None) -> DeliveryOutcome:
        at, decision = self._clock.now(), evaluation.decision
        point = evaluation.facts.point if evaluation.facts else None
        with transaction(self._sessions) as session:
            session.execute(update(Message).where(Message.id == recorded.message_id).values(
                status=MessageStatus.FAILED.value, error_code=code[:32]))
            if evaluation.first_disclosure:
                # Nothing reached the cardholder: the first-communication disclosure goes with the next message.
                session.execute(update(_LEDGER).where(_LEDGER.c.cardholder_id == request.cardholder_id)
                                .values(first_disclosure_at=None))
            self._audit.append(session, "gate", "message.failed", "message", recorded.message_id,
                               {"error_code": code, "detail": detail[:200], "retryable": retryable}, at=at)
            if not retryable and point is not None:
                self._act_on_address(session, point.id, code, at)
        self._count(request, "failed", ())
        return DeliveryOutcome(decision, recorded.message_id, recorded.decision_id, "failed", error=f"{code}: {detail}",
                               retryable=retryable, retry_after_s=retry_after_s)

    def _settle_review(self, request: SendRequest, decision: Decision, recorded: _Recorded, error: str) -> DeliveryOutcome:
        at = self._clock.now()
        with transaction(self._sessions) as session:
            session.execute(update(Message).where(Message.id == recorded.message_id).values(
                status=MessageStatus.REVIEW.value, error_code="unknown_outcome"))
            self._audit.append(session, "gate", "message.review", "message", recorded.message_id,
                               {"error": error[:200]}, at=at)
        return DeliveryOutcome(decision, recorded.message_id, recorded.decision_id, "review", error=error)

    @staticmethod
    def _act_on_address(session: Session, contact_point_id: int, code: str, at: datetime) -> None:
        if code in OPT_OUT_CODES:
            consent.record_opt_out(session, contact_point_id, OptOutMethod.CARRIER, at, "provider")
        elif code in INVALID_ADDRESS_CODES:
            consent.mark_contact_point_invalid(session, contact_point_id, INVALID_ADDRESS_CODES[code], at, "provider")

    def _count(self, request: SendRequest, status: str, reasons: tuple[str, ...]) -> None:
        if self._metrics is not None:
            self._metrics.record_delivery(request.channel.value, request.purpose.value, status, reasons)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _no_pack(holder: HolderFacts, now: datetime) -> Evaluation:
    check = Check(f"{holder.jurisdiction}.policy_pack", False, f"no policy pack for jurisdiction {holder.jurisdiction!r}",
                  Reason.NO_POLICY_PACK.value)
    decision = Decision(DecisionOutcome.BLOCK, (Reason.NO_POLICY_PACK.value,), (check,), holder.jurisdiction, "-", {},
                        holder.timezone or None, None, rule=check.rule)
    return Evaluation(decision, False, None, None)
