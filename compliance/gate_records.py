"""What the compliance gate writes, for a whole batch of decisions at once.

Locking: every decision for a cardholder serialises on their `contact_ledger` row. A batch locks its
cardholders' rows in id order (so two batches can never deadlock) in the same transaction that writes the
decisions, the messages and their audit events. Writes are executemany statements: a batch of a hundred
decisions costs about as many round trips to the database as one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Table, any_, bindparam, insert, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from compliance import pg_writes
from compliance.audit import HEAD_ID, AuditLog, Entry, canonical_pieces, normalise_payload
from compliance.contract import SendRequest
from compliance.decide import Evaluation
from compliance.facts import (
    HOLDER_COLUMNS,
    HolderFacts,
    LedgerFacts,
    holder_facts,
    ledger_facts,
    load_holders,
)
from core.enums import DecisionOutcome, Direction, MessageStatus
from core.ports import SendResult
from storage.tables import Cardholder, ComplianceDecision, ContactLedger, Message, OutboxItem

_LEDGER = cast(Table, ContactLedger.__table__)
_DECISIONS = cast(Table, ComplianceDecision.__table__)
_MESSAGES = cast(Table, Message.__table__)
_OUTBOX = cast(Table, OutboxItem.__table__)

_HOLDERS = _LEDGER.c.cardholder_id.in_(bindparam("ids", expanding=True))
# PostgreSQL: the ids as one array parameter, so the statement text is the same for any batch size and the
# driver and server parse it once (an expanded IN list of a hundred ids is a new statement each time).
_ID_ARRAY = bindparam("ids", type_=postgresql.ARRAY(Integer))
_LEDGER_COLUMNS = (_LEDGER.c.cardholder_id, _LEDGER.c.contacts_total, _LEDGER.c.last_contact_at,
                   _LEDGER.c.first_disclosure_at)
# PostgreSQL: the cardholders' facts come with their locked ledger rows, one round trip for both.
_LOCK_WITH_HOLDERS_PG = (select(*_LEDGER_COLUMNS, *HOLDER_COLUMNS)
                         .join(Cardholder, Cardholder.id == _LEDGER.c.cardholder_id)
                         .where(_LEDGER.c.cardholder_id == any_(_ID_ARRAY))
                         .order_by(_LEDGER.c.cardholder_id).with_for_update(of=_LEDGER))
# SQLite has no row locks: a write first makes this transaction take the database write lock before it reads.
_LOCK_SQLITE = update(_LEDGER).where(_HOLDERS).values(contacts_total=_LEDGER.c.contacts_total).returning(
    *_LEDGER_COLUMNS)
_CREATE_LEDGERS_PG = (postgresql.insert(_LEDGER)
                      .from_select(["cardholder_id", "contacts_total"],
                                   select(Cardholder.id, literal(0)).where(Cardholder.id == any_(_ID_ARRAY)))
                      .on_conflict_do_nothing(index_elements=["cardholder_id"]))
_THIS_LEDGER = _LEDGER.c.cardholder_id == bindparam("holder")
_COUNT_CONTACT = update(_LEDGER).where(_THIS_LEDGER).values(last_contact_at=bindparam("at"),
                                                            contacts_total=_LEDGER.c.contacts_total + 1)
_COUNT_FIRST_CONTACT = _COUNT_CONTACT.values(first_disclosure_at=bindparam("at"))
_INSERT_DECISIONS = insert(_DECISIONS).returning(_DECISIONS.c.id, sort_by_parameter_order=True)
_INSERT_MESSAGES = insert(_MESSAGES).returning(_MESSAGES.c.id, sort_by_parameter_order=True)
_LINK_OUTBOX = update(_OUTBOX).where(_OUTBOX.c.id == bindparam("outbox")).values(message_id=bindparam("message"))
_MARK_SENT = update(_MESSAGES).where(_MESSAGES.c.id == bindparam("message")).values(
    status=MessageStatus.SENT.value, provider_message_id=bindparam("provider_id"), sent_at=bindparam("at"))

STATUS_OF = {DecisionOutcome.ALLOW: MessageStatus.SENDING, DecisionOutcome.DEFER: MessageStatus.DEFERRED,
             DecisionOutcome.BLOCK: MessageStatus.BLOCKED}


@dataclass(frozen=True)
class Recorded:
    message_id: int
    decision_id: int


def lock_holders(session: Session, cardholder_ids: Sequence[int]
                 ) -> tuple[dict[int, HolderFacts], dict[int, LedgerFacts | None]]:
    """The known cardholders among these, and their locked ledger rows (created where missing). An unknown id is
    simply absent from both."""
    ids = sorted(set(cardholder_ids))
    if session.get_bind().dialect.name != "postgresql":
        holders = load_holders(session, ids)
        return holders, _lock_ledgers_sqlite(session, list(holders))
    rows = list(session.connection().execute(_LOCK_WITH_HOLDERS_PG, {"ids": ids}))
    unlocked = sorted(set(ids) - {row[0] for row in rows})  # no ledger row yet, or no such cardholder
    if unlocked:  # a first contact: create the ledger rows of those that exist, then lock them the same way
        session.connection().execute(_CREATE_LEDGERS_PG, {"ids": unlocked})
        rows += session.connection().execute(_LOCK_WITH_HOLDERS_PG, {"ids": unlocked})
    width = len(_LEDGER_COLUMNS)
    return ({row[0]: holder_facts(row[width:]) for row in rows}, {row[0]: ledger_facts(row[1:width]) for row in rows})


def _lock_ledgers_sqlite(session: Session, cardholder_ids: Sequence[int]) -> dict[int, LedgerFacts | None]:
    """SQLite: lock (take the write lock through) the ledger rows of these known cardholders, creating the
    missing ones first. PostgreSQL does this in lock_holders, joined with the cardholders."""
    ids = sorted(set(cardholder_ids))
    found = {row[0]: ledger_facts(row[1:]) for row in session.execute(_LOCK_SQLITE, {"ids": ids})}
    missing = [holder for holder in ids if holder not in found]
    if missing:
        session.execute(sqlite.insert(_LEDGER).values([{"cardholder_id": h, "contacts_total": 0} for h in missing])
                        .on_conflict_do_nothing(index_elements=["cardholder_id"]))
        found.update({row[0]: ledger_facts(row[1:]) for row in session.execute(_LOCK_SQLITE, {"ids": missing})})
    return found


def record_decisions(session: Session, audit: AuditLog, requests: Sequence[SendRequest],
                     evaluations: Sequence[Evaluation], now: datetime) -> list[Recorded]:
    """Write each decision, its message row (sending / deferred / blocked), the outbox link, the ledger count and
    the audit events, all in the caller's transaction."""
    decisions = [_decision_row(e, now) for e in evaluations]
    # The outbox row learns its message in this same transaction: a dispatcher that dies after the commit leaves a
    # row the reconciler settles exactly (provider lookup or review), never a blind resend.
    if session.get_bind().dialect.name == "postgresql":
        return _record_decisions_pg(session, audit, requests, evaluations, decisions, now)
    decision_ids = list(session.scalars(_INSERT_DECISIONS, decisions))
    messages = [_message_row(r, e, d, now) for r, e, d in zip(requests, evaluations, decision_ids, strict=True)]
    message_ids = list(session.scalars(_INSERT_MESSAGES, messages))
    links = [{"outbox": r.outbox_id, "message": m} for r, m in zip(requests, message_ids, strict=True)
             if r.outbox_id is not None]
    if links:
        session.execute(_LINK_OUTBOX, links)
    counted = [(r, e) for r, e in zip(requests, evaluations, strict=True) if e.decision.allowed]
    for statement, first in ((_COUNT_CONTACT, False), (_COUNT_FIRST_CONTACT, True)):
        params = [{"holder": r.cardholder_id, "at": now} for r, e in counted if e.first_disclosure is first]
        if params:
            session.execute(statement, params)
    # Last before commit, so the audit head stays locked for as short a time as possible.
    audit.append_many(session, _decision_entries(requests, evaluations, decision_ids, message_ids, messages), at=now)
    return [Recorded(m, d) for m, d in zip(message_ids, decision_ids, strict=True)]


def _record_decisions_pg(session: Session, audit: AuditLog, requests: Sequence[SendRequest],
                         evaluations: Sequence[Evaluation], decisions: list[dict[str, Any]],
                         now: datetime) -> list[Recorded]:
    """PostgreSQL: everything in one statement, the audit events included (pg_writes.insert_decisions)."""
    messages = [_message_row(r, e, None, now) for r, e in zip(requests, evaluations, strict=True)]
    contacts = [(r.cardholder_id, e.first_disclosure) for r, e in zip(requests, evaluations, strict=True)
                if e.decision.allowed]
    events = [_decision_event(r, e, row["text"], now) for r, e, row in zip(requests, evaluations, messages,
                                                                          strict=True)]
    decided = pg_writes.insert_decisions(session, decisions, messages, [r.outbox_id for r in requests],
                                         contacts, events, now, HEAD_ID)
    message_ids, decision_ids = [m for m, _ in decided.ids], [d for _, d in decided.ids]
    if not decided.audited:  # the chain's first append ever: audit.append_many creates its head row
        audit.append_many(session, _decision_entries(requests, evaluations, decision_ids, message_ids, messages),
                          at=now)
    return [Recorded(m, d) for m, d in zip(message_ids, decision_ids, strict=True)]


def _decision_entries(requests: Sequence[SendRequest], evaluations: Sequence[Evaluation], decision_ids: list[int],
                      message_ids: list[int], messages: list[dict[str, Any]]) -> list[Entry]:
    return [Entry(r.author, "compliance.decision", "message", m, _audit_payload(r, e, d, row["text"]))
            for r, e, d, m, row in zip(requests, evaluations, decision_ids, message_ids, messages, strict=True)]


def _decision_event(request: SendRequest, evaluation: Evaluation, text: str, now: datetime) -> pg_writes.DecisionEvent:
    """The decision's audit event before its ids exist: PostgreSQL fills them in (pg_writes.insert_decisions)."""
    payload = normalise_payload(_audit_payload(request, evaluation, None, text))
    return pg_writes.DecisionEvent(request.author, payload,
                                   canonical_pieces(now, request.author, "compliance.decision", "message", payload, None))


def record_sent(session: Session, audit: AuditLog, sent: Sequence[tuple[Recorded, SendResult]],
                at: datetime) -> None:
    """The provider accepted these: mark them sent with its ids, in one transaction."""
    if session.get_bind().dialect.name == "postgresql":
        pg_writes.mark_sent(session, [(rec.message_id, result.provider_message_id) for rec, result in sent], at)
    else:
        session.execute(_MARK_SENT, [{"message": rec.message_id, "provider_id": result.provider_message_id,
                                      "at": at} for rec, result in sent])
    # Last before commit: on PostgreSQL the head is locked from this statement to the commit only.
    audit.append_many(session, [Entry("gate", "message.sent", "message", rec.message_id,
                                      {"provider_message_id": result.provider_message_id})
                                for rec, result in sent], at=at)


def _decision_row(evaluation: Evaluation, now: datetime) -> dict[str, Any]:
    decision = evaluation.decision
    return dict(
        outcome=decision.outcome.value, rule=decision.rule, reasons=list(decision.reasons),
        checks=[{"rule": c.rule, "passed": c.passed, "detail": c.detail, "reason": c.reason} for c in decision.checks],
        policy_pack=decision.policy_pack, policy_version=decision.policy_version, counters=decision.counters,
        timezone=decision.timezone, local_time=decision.local_time, defer_until=decision.defer_until,
        decided_at=now,
    )


def _template_id(request: SendRequest, evaluation: Evaluation) -> str | None:
    if evaluation.template is not None:
        return evaluation.template.id
    return None if request.free_text is not None else request.template_id


def _message_row(request: SendRequest, evaluation: Evaluation, decision_id: int | None, now: datetime) -> dict[str, Any]:
    decision, facts, template = evaluation.decision, evaluation.facts, evaluation.template
    return dict(
        cardholder_id=request.cardholder_id,
        account_id=facts.account.id if facts and facts.account else None,
        conversation_id=facts.conversation.id if facts and facts.conversation else None,
        contact_point_id=facts.point.id if facts and facts.point else None,
        channel=request.channel.value, direction=Direction.OUTBOUND.value,
        status=STATUS_OF[decision.outcome].value, purpose=request.purpose.value, author=request.author,
        template_id=_template_id(request, evaluation), template_version=template.version if template else None,
        language=decision.language, text=decision.text or "", created_at=now, decision_id=decision_id,
        counts_toward_cap=decision.allowed and evaluation.counted,
    )


def _audit_payload(request: SendRequest, evaluation: Evaluation, decision_id: int | None, text: str) -> dict[str, Any]:
    decision, template = evaluation.decision, evaluation.template
    # A message of several parts: the audit record names every template it holds, as its decision does.
    parts = {"parts": decision.counters["parts"]} if request.extra_parts and "parts" in decision.counters else {}
    return {
        **parts,
        "decision_id": decision_id, "outcome": decision.outcome.value, "rule": decision.rule,
        "reasons": list(decision.reasons), "policy": f"{decision.policy_pack} {decision.policy_version}",
        "cardholder_id": request.cardholder_id, "channel": request.channel.value,
        "purpose": request.purpose.value, "template": _template_id(request, evaluation),
        "template_version": template.version if template else None, "outbox_id": request.outbox_id,
        "defer_until": decision.defer_until, "text_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }
