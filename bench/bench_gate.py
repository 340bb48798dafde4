"""The compliance gate: decisions and deliveries per second on PostgreSQL, one process.

Each delivery is the full path: ledger lock, every check, decision + message + audit event in one transaction,
the send through a zero-latency in-process channel adapter, then the result and its audit event in a second
transaction. Baseline: the plainest per-message durable write, one transaction inserting one message row, measured
on the same database in the same run; the ratio says how close the gate comes to that floor.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from accord.settings import PROJECT_ROOT
from bench.common import BenchContext, Result, timer
from compliance.audit import AuditLog
from compliance.contract import SendRequest
from compliance.gate import ComplianceGate
from compliance.wiring import load_compliance
from core.clock import FixedClock
from core.enums import Channel, MessagePurpose
from core.ports import OutboundText, SendResult
from storage.db import make_engine, make_session_factory, migrate, transaction
from storage.tables import Account, Cardholder, ContactPoint, Message

COUNT = int(os.environ.get("ACCORD_BENCH_GATE_MESSAGES", "2000"))
NOON_NY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


class NullChannel:
    """Accepts everything at once: the benchmark measures the gate, not a provider."""

    name = "null"

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def send(self, message: OutboundText) -> SendResult:
        return SendResult(provider_message_id=f"NULL-{message.message_id}", accepted=True)

    def lookup(self, provider_message_id: str) -> str | None:
        return "delivered"


def run(ctx: BenchContext) -> list[Result]:
    with ctx.postgres_database("accord_bench_gate") as url:
        migrate(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        holders = _portfolio(factory, COUNT)
        clock = FixedClock(NOON_NY)
        config = load_compliance(PROJECT_ROOT / "config")
        gate = ComplianceGate(factory, clock, config.packs, config.catalog,
                              {channel: NullChannel(channel) for channel in Channel}, AuditLog(clock))
        requests = [SendRequest(cardholder_id=h, channel=Channel.SMS, purpose=MessagePurpose.REMINDER,
                                template_id="reminder.dpd_30_59", author="scheduler", account_id=a) for h, a in holders]
        with timer() as evaluated:
            for request in requests[: COUNT // 2]:
                gate.evaluate(request)
        with timer() as delivered:
            outcomes = [gate.deliver(request) for request in requests]
        sent = sum(1 for outcome in outcomes if outcome.status == "sent")
        with timer() as plain:
            for holder, _account in holders:
                with transaction(factory) as session:
                    session.execute(insert(Message).values(
                        cardholder_id=holder, channel="sms", direction="outbound", status="sent", author="bench",
                        text="x" * 300, created_at=NOON_NY, counts_toward_cap=False))
        engine.dispose()
    ctx.notes.append(f"gate: {COUNT} reminders to {COUNT} US cardholders on PostgreSQL, {sent} sent; baseline = "
                     "one plain transaction inserting one message row per message")
    return [
        Result("gate_deliver_per_s", COUNT / delivered.seconds, "msg/s", COUNT / plain.seconds),
        Result("gate_deliver_cpu_ms", delivered.cpu_seconds / COUNT * 1000, "ms", plain.cpu_seconds / COUNT * 1000),
        Result("gate_evaluate_per_s", (COUNT // 2) / evaluated.seconds, "decisions/s"),
    ]


def _portfolio(factory: sessionmaker[Session], count: int) -> list[tuple[int, int]]:
    with transaction(factory) as session:
        holder_ids = session.scalars(insert(Cardholder).returning(Cardholder.id, sort_by_parameter_order=True), [
            {"external_id": f"B{i:07d}", "full_name": "Bench Person", "language": "en",
             "timezone": "America/New_York", "jurisdiction": "US",
             "created_at": NOON_NY, "updated_at": NOON_NY} for i in range(count)]).all()
        account_ids = session.scalars(insert(Account).returning(Account.id, sort_by_parameter_order=True), [
            {"external_id": f"AB{i:07d}", "cardholder_id": h, "product": "credit_card", "currency": "USD",
             "balance_minor": 250_000, "minimum_due_minor": 5_000, "due_date": date(2026, 10, 11),
             "days_past_due": 43, "stage": "dpd_30_59", "touches_in_stage": 0, "created_at": NOON_NY,
             "updated_at": NOON_NY} for i, h in enumerate(holder_ids)]).all()
        session.execute(insert(ContactPoint), [
            {"cardholder_id": h, "channel": "sms", "address": f"+1212{i:07d}", "preferred": True,
             "consent_basis": "express_written", "consent_at": NOON_NY, "verified": True, "status": "active",
             "created_at": NOON_NY, "updated_at": NOON_NY} for i, h in enumerate(holder_ids)])
    return list(zip(holder_ids, account_ids, strict=True))
