"""The gate deciding a batch at once, on both databases: a batch decides exactly as the same requests one at a
time would, including several requests for one cardholder, and one bad request never spoils the others."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from accord.bootstrap import Container
from compliance.audit import verify
from compliance.contract import DeliveryOutcome
from compliance.facts import UnknownCardholder
from core.enums import Channel
from storage.tables import AuditEvent, ContactLedger, Message
from tests.compliance_builders import add_holder, make_gate, reminder

NOON_NY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 12:00 in New York


def test_one_cardholder_several_times_in_a_batch_counts_each_toward_the_cap(container: Container) -> None:
    # US-MA allows two contacts in seven days: of four reminders in one batch, two go and two are blocked,
    # and only the first carries the first-communication disclosure.
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY, jurisdiction="US-MA")
    gate, channels = make_gate(container.session_factory, container.clock)

    outcomes = gate.deliver_many([reminder(holder) for _ in range(4)])

    assert [o.status for o in outcomes if isinstance(o, DeliveryOutcome)] == ["sent", "sent", "blocked", "blocked"]
    blocked = outcomes[2]
    assert isinstance(blocked, DeliveryOutcome) and blocked.decision.reasons == ("frequency_cap:per_7_days",)
    sent = channels[Channel.SMS].sent
    assert len(sent) == 2
    assert "attempt to collect a debt" in sent[0].text and "attempt to collect" not in sent[1].text
    with container.session_factory() as s:
        ledger = s.get_one(ContactLedger, holder.id)
        assert ledger.contacts_total == 2
        statuses = s.scalars(select(Message.status).order_by(Message.id)).all()
        assert statuses == ["sent", "sent", "blocked", "blocked"]
        assert verify(s).ok
        kinds = s.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq)).all()
        assert kinds == ["compliance.decision"] * 4 + ["message.sent"] * 2

    # A later batch sees the batch before it: nothing more goes this week.
    again = gate.deliver_many([reminder(holder)])
    assert isinstance(again[0], DeliveryOutcome) and again[0].status == "blocked"


def test_a_batch_decides_as_the_same_requests_one_at_a_time(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    one = [add_holder(container.session_factory, NOON_NY, ext=f"S{n}", jurisdiction=j)
           for n, j in enumerate(("US", "US-MA", "UK", "CN"))]
    batch = [add_holder(container.session_factory, NOON_NY, ext=f"B{n}", jurisdiction=j)
             for n, j in enumerate(("US", "US-MA", "UK", "CN"))]
    gate, _ = make_gate(container.session_factory, container.clock)

    singly = [gate.deliver(reminder(h)) for h in one for _ in range(3)]
    together = gate.deliver_many([reminder(h) for h in batch for _ in range(3)])

    def summary(outcome: object) -> tuple[str, tuple[str, ...], str | None]:
        assert isinstance(outcome, DeliveryOutcome)
        return outcome.status, outcome.decision.reasons, outcome.decision.rule

    assert [summary(o) for o in together] == [summary(o) for o in singly]


def test_an_unknown_cardholder_fails_alone(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, channels = make_gate(container.session_factory, container.clock)
    stranger = reminder(holder).__class__(**{**reminder(holder).__dict__, "cardholder_id": 987_654})

    outcomes = gate.deliver_many([stranger, reminder(holder)])

    assert isinstance(outcomes[0], UnknownCardholder) and "987654" in str(outcomes[0])
    assert isinstance(outcomes[1], DeliveryOutcome) and outcomes[1].status == "sent"
    assert len(channels[Channel.SMS].sent) == 1


def test_the_decisions_audit_events_chain_exactly_as_the_audit_log_computes_them(container: Container) -> None:
    """The first batch creates the chain's head (the portable append); later ones are chained by PostgreSQL itself
    in the decisions' statement. Either way every event verifies, names its own decision and message, and the
    sequence numbers run on without a gap, across jurisdictions and languages (a zh text's digest included)."""
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    gate, _ = make_gate(container.session_factory, container.clock)
    first = add_holder(container.session_factory, NOON_NY, ext="F0")
    gate.deliver_many([reminder(first)])
    holders = [add_holder(container.session_factory, NOON_NY, ext=f"C{n}", jurisdiction=j, timezone=zone,
                          language=language, currency=currency)
               for n, (j, zone, language, currency) in enumerate((
                   ("CN", "Asia/Shanghai", "zh", "CNY"), ("UK", "Europe/London", "en", "GBP"),
                   ("US", "America/New_York", "en", "USD"), ("CN", "Asia/Shanghai", "zh", "CNY")))]

    for _ in range(2):
        outcomes = gate.deliver_many([reminder(h) for h in holders for _ in range(2)])
        assert all(isinstance(o, DeliveryOutcome) for o in outcomes)

    with container.session_factory() as s:
        assert verify(s).ok
        events = s.scalars(select(AuditEvent).where(AuditEvent.kind == "compliance.decision")
                           .order_by(AuditEvent.seq)).all()
        messages = {m.id: m for m in s.scalars(select(Message).where(Message.direction == "outbound"))}
        assert len(events) == 1 + 2 * 2 * len(holders) == len(messages)
        for event in events:
            message = messages[int(event.subject_id)]
            assert event.payload["decision_id"] == message.decision_id
            assert event.payload["cardholder_id"] == message.cardholder_id
        seqs = s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, len(seqs) + 1))
