"""The compliance gate: the one door every outbound message passes, and the only caller of a channel's `send`.

`deliver_many(requests)` (and `deliver(request)`, a batch of one):
  1. One transaction: lock the cardholders' contact-ledger rows, read the facts, run every check, write each
     decision, its message row (sending / deferred / blocked) and audit event, link the outbox rows to their
     messages, update the ledgers; commit. Concurrent workers serialise on the ledger rows, so two sends cannot
     both slip under the same cap.
  2. Only for the allowed ones, outside any transaction: the channel adapters send (many at once where the
     adapter can).
  3. A second transaction records the results: sent (provider id, time) or failed (error code; a permanent
     refusal about the address marks it opted out or invalid; a transient one is reported retryable).
Several requests for one cardholder (a bot turn's replies) are decided in order: each sees the ones before it as
the database will once they are recorded (caps, contact counts, first disclosure), and they are sent in order.
`deliver_combined(requests)` does the same for a bot turn's replies packed into as few messages as the channel's
length limit allows (compliance.turn_message): one decision, one message row and one send per message.
`evaluate(request)` runs the same checks as a dry run and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import structlog
from sqlalchemy import Table, update
from sqlalchemy.orm import Session, sessionmaker

from compliance import consent, turn_message
from compliance.audit import AuditLog
from compliance.catalog import Catalog
from compliance.checks import Context
from compliance.contract import Check, Decision, DeliveryOutcome, SendRequest
from compliance.decide import Evaluation, evaluate
from compliance.facts import (
    Facts,
    FactsQuery,
    HolderFacts,
    LedgerFacts,
    UnknownCardholder,
    after_earlier,
    load_facts_many,
    load_holders,
)
from compliance.gate_records import STATUS_OF, Recorded, lock_holders, record_decisions, record_sent
from compliance.hours import resolve_zone
from compliance.packs import Pack, PackRegistry
from compliance.provider_errors import INVALID_ADDRESS_CODES, OPT_OUT_CODES
from compliance.reasons import Reason
from core.clock import Clock
from core.enums import Channel, DecisionOutcome, MessagePurpose, MessageStatus, OptOutMethod
from core.ports import ChannelAdapter, OutboundText, SendResult, TransientChannelError
from storage.db import transaction
from storage.tables import ContactLedger, Message

log = structlog.get_logger("accord.gate")
Pace = Callable[[Channel, int], int]
_LEDGER = cast(Table, ContactLedger.__table__)


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

    @property
    def packs(self) -> PackRegistry:
        """Every pack this gate decides by; the scheduler reads the same ones for the protective-state matrix."""
        return self._packs

    def pack_for(self, jurisdiction: str) -> Pack | None:
        """The policy pack this gate decides by for a jurisdiction (None where it has none: it then blocks)."""
        return self._packs.get(jurisdiction)

    def reply_purpose(self, template_id: str) -> MessagePurpose:
        """The purpose a bot's reply with this template goes out with: bot_reply, or the acknowledgement purpose
        of a template that only serves that (a protective state allows it once it blocks ordinary replies)."""
        return self._catalog.reply_purpose(template_id)

    def channel_names(self) -> dict[str, str]:
        return {channel.value: getattr(adapter, "name", type(adapter).__name__) for channel, adapter in self._channels.items()}

    # -- dry run ---------------------------------------------------------------------------------------------

    def evaluate(self, request: SendRequest) -> Decision:
        """What deliver() would decide now, and the exact text it would send. Writes nothing."""
        now = self._clock.now()
        with self._sessions() as session:
            try:
                holder = load_holders(session, [request.cardholder_id]).get(request.cardholder_id)
                if holder is None:
                    raise UnknownCardholder(f"no cardholder with id {request.cardholder_id}")
                return self._evaluate_many(session, [request], [holder], now, None)[0].decision
            finally:
                session.rollback()

    # -- the one door out ------------------------------------------------------------------------------------

    def deliver(self, request: SendRequest) -> DeliveryOutcome:
        outcome = self.deliver_many([request])[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def deliver_many(self, requests: Sequence[SendRequest],
                     pace: Pace | None = None) -> list[DeliveryOutcome | Exception]:
        """Decide, record and send a batch; one outcome per request, in order. A request the gate cannot decide
        at all (an unknown cardholder) gets its exception in place of an outcome; the others go on.
        `pace(channel, wanted)`: how many allowed messages may go to the provider now (at least one, waiting if it
        must): the dispatcher's provider rate limits, applied just before the provider call, so a blocked message
        never uses up the provider's capacity."""
        return self._deliver(requests, pace, combine=False)

    def deliver_combined(self, requests: Sequence[SendRequest],
                         pace: Pace | None = None) -> list[DeliveryOutcome | Exception]:
        """A bot turn's replies as few messages as fit: consecutive requests that may be one message (same
        cardholder, address, purpose, ...) are joined in order while the whole message, as it would leave, fits the
        pack's length limit for the channel (compliance.turn_message). One outcome per message, in order; each is
        decided, recorded (one decision naming every template it holds) and sent as one. A single request is
        decided exactly as deliver_many decides it."""
        return self._deliver(requests, pace, combine=True)

    def _deliver(self, requests: Sequence[SendRequest], pace: Pace | None, *,
                 combine: bool) -> list[DeliveryOutcome | Exception]:
        now = self._clock.now()
        with transaction(self._sessions) as session:
            holders, ledgers = lock_holders(session, [r.cardholder_id for r in requests])
            if combine:
                packed = self._evaluate_packed(session, requests, holders, now, ledgers)
                requests = [request for request, _ in packed]
                positions = [i for i, (_, evaluation) in enumerate(packed) if evaluation is not None]
                evaluations = [evaluation for _, evaluation in packed if evaluation is not None]
                known = [requests[i] for i in positions]
            else:
                # Positions, not the requests themselves: one request object may stand in a batch more than once.
                positions = [i for i, r in enumerate(requests) if r.cardholder_id in holders]
                known = [requests[i] for i in positions]
                evaluations = self._evaluate_many(session, known, [holders[r.cardholder_id] for r in known], now,
                                                  ledgers)
            recorded = record_decisions(session, self._audit, known, evaluations, now) if known else []
        outcomes: list[DeliveryOutcome | Exception] = [
            UnknownCardholder(f"no cardholder with id {r.cardholder_id}") for r in requests]
        to_send: list[tuple[int, SendRequest, Evaluation, Recorded]] = []
        for index, evaluation, rec in zip(positions, evaluations, recorded, strict=True):
            request, decision = requests[index], evaluation.decision
            # DEBUG: the decision's record is its row and audit event; a log line per message costs at dispatch rates.
            log.debug("gate.decision", message_id=rec.message_id, outcome=decision.outcome.value,
                     reasons=list(decision.reasons), rule=decision.rule, outbox_id=request.outbox_id)
            status = STATUS_OF[decision.outcome].value
            outcomes[index] = DeliveryOutcome(decision, rec.message_id, rec.decision_id, status)
            if decision.allowed:
                to_send.append((index, request, evaluation, rec))
            else:
                self._count(request, status, decision.reasons)
        for index, outcome in self._send(to_send, pace):
            outcomes[index] = outcome
        return outcomes

    def _evaluate_many(self, session: Session, requests: Sequence[SendRequest], holders: Sequence[HolderFacts],
                       now: datetime, ledgers: Mapping[int, LedgerFacts | None] | None) -> list[Evaluation]:
        queries, packs = [], []
        for request, holder in zip(requests, holders, strict=True):
            pack = self._packs.get(holder.jurisdiction)
            packs.append(pack)
            if pack is not None:
                queries.append(FactsQuery(
                    request, holder, max(cap.window_hours for cap in pack.frequency.caps),
                    ledgers.get(holder.id) if ledgers is not None else None,
                    replies=request.purpose in pack.frequency.replies.purposes))
        facts = iter(load_facts_many(session, queries, now) if queries else [])
        evaluations = []
        earlier: dict[int, list[tuple[SendRequest, Evaluation]]] = {}
        for request, holder, pack in zip(requests, holders, packs, strict=True):
            if pack is None:
                evaluations.append(_no_pack(holder, now))
                continue
            seen = after_earlier(next(facts), earlier.get(holder.id, ()))
            ctx = Context(request, pack, seen, resolve_zone(holder.timezone),
                          request.language or holder.language, request.channel in self._channels)
            evaluation = evaluate(ctx, self._catalog)
            evaluations.append(evaluation)
            earlier.setdefault(holder.id, []).append((request, evaluation))
        return evaluations

    def _evaluate_packed(self, session: Session, requests: Sequence[SendRequest], holders: Mapping[int, HolderFacts],
                         now: datetime, ledgers: Mapping[int, LedgerFacts | None]
                         ) -> list[tuple[SendRequest, Evaluation | None]]:
        """The requests packed into messages, each with its evaluation (None for an unknown cardholder). Each
        candidate message is measured by evaluating it as it would leave, against the facts after the messages
        before it; the last candidate that fits is the message's evaluation."""
        runs = turn_message.runs(requests)
        heads: list[tuple[HolderFacts, Pack] | None] = []
        queries = []
        for run in runs:
            holder = holders.get(run[0].cardholder_id)
            pack = self._packs.get(holder.jurisdiction) if holder is not None else None
            heads.append((holder, pack) if holder is not None and pack is not None else None)
            if holder is not None and pack is not None:
                queries.append(FactsQuery(
                    run[0], holder, max(cap.window_hours for cap in pack.frequency.caps),
                    ledgers.get(holder.id), replies=run[0].purpose in pack.frequency.replies.purposes))
        facts = iter(load_facts_many(session, queries, now) if queries else [])
        packed: list[tuple[SendRequest, Evaluation | None]] = []
        earlier: dict[int, list[tuple[SendRequest, Evaluation]]] = {}
        for run, head in zip(runs, heads, strict=True):
            holder = holders.get(run[0].cardholder_id)
            if holder is None or head is None:  # no such cardholder, or no pack: one message, decided as such
                packed.append((turn_message.merge(run), None if holder is None else _no_pack(holder, now)))
                continue
            packed += self._pack_run(run, holder, head[1], next(facts), earlier.setdefault(holder.id, []))
        return packed

    def _pack_run(self, run: Sequence[SendRequest], holder: HolderFacts, pack: Pack, facts: Facts,
                  earlier: list[tuple[SendRequest, Evaluation]]) -> list[tuple[SendRequest, Evaluation | None]]:
        """One run of combinable requests for one cardholder, greedily packed (`earlier`: this cardholder's
        messages decided before in the batch, extended with each message as it is decided)."""
        tried: dict[tuple[int, ...], Evaluation] = {}

        def decide(message: SendRequest) -> Evaluation:
            ctx = Context(message, pack, after_earlier(facts, earlier), resolve_zone(holder.timezone),
                          message.language or holder.language, message.channel in self._channels)
            return evaluate(ctx, self._catalog)

        def fits(group: list[int]) -> bool:
            evaluation = decide(turn_message.merge([run[i] for i in group]))
            tried[tuple(group)] = evaluation
            return turn_message.within_length(evaluation.decision, pack.rule("length"))

        packed: list[tuple[SendRequest, Evaluation | None]] = []
        for group in turn_message.greedy(range(len(run)), fits):
            message = turn_message.merge([run[i] for i in group])
            evaluation = tried.get(tuple(group))
            if evaluation is None:  # a message of one part is never measured: decide it now
                evaluation = decide(message)
            tried.clear()
            packed.append((message, evaluation))
            earlier.append((message, evaluation))
        return packed

    # -- after the decision: the send and its result ---------------------------------------------------------

    def _send(self, batch: Sequence[tuple[int, SendRequest, Evaluation, Recorded]],
              pace: Pace | None) -> list[tuple[int, DeliveryOutcome]]:
        by_channel: dict[Channel, list[tuple[int, SendRequest, Evaluation, Recorded]]] = {}
        for item in batch:
            by_channel.setdefault(item[1].channel, []).append(item)
        settled: list[tuple[int, DeliveryOutcome]] = []
        sent: list[tuple[int, SendRequest, Evaluation, Recorded, SendResult]] = []
        for channel, items in by_channel.items():
            outbound = [_outbound(request, evaluation, rec) for _, request, evaluation, rec in items]
            results: list[SendResult | BaseException] = []
            while len(results) < len(outbound):
                allowed = max(1, pace(channel, len(outbound) - len(results))) if pace else len(outbound)
                results += _transmit(self._channels[channel], outbound[len(results):len(results) + allowed])
            for (index, request, evaluation, rec), result in zip(items, results, strict=True):
                if isinstance(result, SendResult) and result.accepted:
                    sent.append((index, request, evaluation, rec, result))
                else:
                    settled.append((index, self._not_sent(request, evaluation, rec, result)))
        if sent:
            at = self._clock.now()
            with transaction(self._sessions) as session:
                record_sent(session, self._audit, [(rec, result) for *_, rec, result in sent], at)
            for index, request, evaluation, rec, result in sent:
                self._count(request, "sent", ())
                settled.append((index, DeliveryOutcome(evaluation.decision, rec.message_id, rec.decision_id, "sent",
                                                       provider_message_id=result.provider_message_id)))
        return settled

    def _not_sent(self, request: SendRequest, evaluation: Evaluation, recorded: Recorded,
                  result: SendResult | BaseException) -> DeliveryOutcome:
        if isinstance(result, TransientChannelError):
            return self._failed(request, evaluation, recorded, "transient", str(result), retryable=True,
                                retry_after_s=result.retry_after_s)
        if isinstance(result, BaseException):  # the provider may or may not have the message: never resend blindly
            log.error("gate.send_unknown", message_id=recorded.message_id, error=type(result).__name__)
            return self._settle_review(request, evaluation.decision, recorded, f"{type(result).__name__}: {result}")
        return self._failed(request, evaluation, recorded, result.error_code or "refused", result.error_detail or "",
                            retryable=not result.permanent)

    def _failed(self, request: SendRequest, evaluation: Evaluation, recorded: Recorded, code: str, detail: str, *,
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

    def _settle_review(self, request: SendRequest, decision: Decision, recorded: Recorded, error: str) -> DeliveryOutcome:
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


def _outbound(request: SendRequest, evaluation: Evaluation, recorded: Recorded) -> OutboundText:
    point = evaluation.facts.point if evaluation.facts else None
    key = f"outbox-{request.outbox_id}" if request.outbox_id is not None else f"message-{recorded.message_id}"
    return OutboundText(request.channel, point.address if point else "", evaluation.decision.text or "",
                        recorded.message_id, key)


def _transmit(adapter: ChannelAdapter, outbound: Sequence[OutboundText]) -> list[SendResult | BaseException]:
    """THE call to a channel: many messages at once where the adapter can (its own concurrency), else in turn.
    One result per message: a SendResult, or the exception its send raised."""
    send_many = getattr(adapter, "send_many", None)
    if send_many is not None:
        return list(send_many(outbound))
    results: list[SendResult | BaseException] = []
    for message in outbound:
        try:
            results.append(adapter.send(message))
        except Exception as exc:
            results.append(exc)
    return results


def _no_pack(holder: HolderFacts, now: datetime) -> Evaluation:
    check = Check(f"{holder.jurisdiction}.policy_pack", False, f"no policy pack for jurisdiction {holder.jurisdiction!r}",
                  Reason.NO_POLICY_PACK.value)
    decision = Decision(DecisionOutcome.BLOCK, (Reason.NO_POLICY_PACK.value,), (check,), holder.jurisdiction, "-", {},
                        holder.timezone or None, None, rule=check.rule)
    return Evaluation(decision, False, None, None)
