"""Contact hours through the real gate: boundaries in US and CN local time, DST, a cardholder far from the
server, and defer-not-drop."""

from __future__ import annotations

import time as systime
from datetime import UTC, datetime, timedelta

import pytest

from accord.bootstrap import Container
from storage.tables import ComplianceDecision, Message
from tests.compliance_builders import add_holder, make_gate, reminder


def _at_local(container: Container, local: str, zone: str) -> None:
    from zoneinfo import ZoneInfo

    container.clock.set(datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)))  # type: ignore[attr-defined]


@pytest.mark.parametrize(("wall", "expected"), [
    ("07:59:59", "deferred"), ("08:00:00", "sent"), ("20:59:59", "sent"), ("21:00:00", "deferred"),
    ("21:59:59", "deferred"),
])
def test_us_boundaries(container: Container, wall: str, expected: str) -> None:
    holder = add_holder(container.session_factory, container.clock.now(), timezone="America/Chicago")
    gate, _ = make_gate(container.session_factory, container.clock)
    _at_local(container, f"2026-11-24T{wall}", "America/Chicago")
    outcome = gate.deliver(reminder(holder))
    assert outcome.status == expected, outcome.decision.checks
    if expected == "deferred":
        assert outcome.decision.reasons == ("outside_contact_hours",)
        assert outcome.decision.rule == "US.contact_hours"


@pytest.mark.parametrize(("wall", "expected"), [
    ("07:59:59", "deferred"), ("08:00:00", "sent"), ("20:59:59", "sent"), ("21:00:00", "sent"),
    ("21:59:59", "sent"), ("22:00:00", "deferred"),
])
def test_cn_boundaries(container: Container, wall: str, expected: str) -> None:
    holder = add_holder(container.session_factory, container.clock.now(), jurisdiction="CN", timezone="Asia/Shanghai",
                        language="zh", currency="CNY", sms_consent="cardholder_agreement", verified=False)
    gate, _ = make_gate(container.session_factory, container.clock)
    _at_local(container, f"2026-11-24T{wall}", "Asia/Shanghai")
    outcome = gate.deliver(reminder(holder))
    assert outcome.status == expected, outcome.decision.checks
    if expected == "sent":  # the registered phone counts as the cardholder under CN: full details went out
        assert "¥50.00" in (outcome.decision.text or "")


def test_deferred_to_the_next_opening_not_dropped(container: Container) -> None:
    holder = add_holder(container.session_factory, container.clock.now())
    gate, channels = make_gate(container.session_factory, container.clock)
    _at_local(container, "2026-11-23T21:00:00", "America/New_York")

    outcome = gate.deliver(reminder(holder, outbox_id=None))

    assert outcome.status == "deferred"
    assert outcome.decision.defer_until == datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert outcome.decision.counters["defer_until_local"] == "2026-11-24T08:00:00-05:00"
    with container.session_factory() as s:
        row = s.get_one(Message, outcome.message_id)
        assert row.status == "deferred" and row.text  # the attempt and its text are on record
        assert s.get_one(ComplianceDecision, outcome.decision_id).defer_until == outcome.decision.defer_until
    container.clock.set(outcome.decision.defer_until)  # type: ignore[attr-defined]
    assert gate.deliver(reminder(holder)).status == "sent"


@pytest.mark.parametrize(("utc", "status", "defer_until"), [
    # DST starts 2026-03-08 02:00 EST. 07:59:59 EDT is 11:59:59Z; the window opens at 12:00Z.
    ("2026-03-08T11:59:59+00:00", "deferred", "2026-03-08T12:00:00+00:00"),
    ("2026-03-08T12:00:00+00:00", "sent", None),
    # Saturday 21:30 EST the night before: the next opening is 08:00 EDT, only 9.5 hours later.
    ("2026-03-08T02:30:00+00:00", "deferred", "2026-03-08T12:00:00+00:00"),
    # DST ends 2026-11-01 02:00 EDT. Saturday 21:30 EDT -> Sunday 08:00 EST = 13:00Z.
    ("2026-11-01T01:30:00+00:00", "deferred", "2026-11-01T13:00:00+00:00"),
    ("2026-11-01T12:59:59+00:00", "deferred", "2026-11-01T13:00:00+00:00"),
    ("2026-11-01T13:00:00+00:00", "sent", None),
    ("2026-11-02T01:59:59+00:00", "sent", None),  # 20:59:59 EST
    ("2026-11-02T02:00:00+00:00", "deferred", "2026-11-02T13:00:00+00:00"),  # 21:00 EST
])
def test_us_dst_days(container: Container, utc: str, status: str, defer_until: str | None) -> None:
    holder = add_holder(container.session_factory, container.clock.now())
    gate, _ = make_gate(container.session_factory, container.clock)
    container.clock.set(datetime.fromisoformat(utc))  # type: ignore[attr-defined]
    outcome = gate.deliver(reminder(holder))
    assert outcome.status == status
    expected = datetime.fromisoformat(defer_until) if defer_until else None
    assert outcome.decision.defer_until == expected


def test_cardholder_far_from_the_server(container: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    # The server's own zone must not matter: run as if the machine were in Auckland.
    monkeypatch.setenv("TZ", "Pacific/Auckland")
    systime.tzset()
    try:
        holder = add_holder(container.session_factory, container.clock.now(), jurisdiction="UK",
                            timezone="Asia/Kolkata", verified=True)
        gate, _ = make_gate(container.session_factory, container.clock)
        container.clock.set(datetime(2026, 11, 23, 2, 29, 59, tzinfo=UTC))  # type: ignore[attr-defined]  # 07:59:59 IST
        early = gate.deliver(reminder(holder))
        assert early.status == "deferred" and early.decision.local_time == "2026-11-23T07:59:59+05:30"
        assert early.decision.defer_until == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
        container.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
        assert gate.deliver(reminder(holder)).status == "sent"
    finally:
        monkeypatch.delenv("TZ")
        systime.tzset()


@pytest.mark.parametrize("zone", ["", "Mars/Olympus_Mons", "EST5EDT-ish"])
def test_unknown_timezone_blocks(container: Container, zone: str) -> None:
    holder = add_holder(container.session_factory, container.clock.now(), timezone=zone)
    gate, channels = make_gate(container.session_factory, container.clock)
    outcome = gate.deliver(reminder(holder))
    assert outcome.status == "blocked" and "timezone_unknown" in outcome.decision.reasons
    assert outcome.decision.local_time is None and outcome.decision.defer_until is None
    assert all(not ch.sent for ch in channels.values())


def test_uk_bank_holiday_defers_to_the_next_working_day(container: Container) -> None:
    holder = add_holder(container.session_factory, container.clock.now(), jurisdiction="UK", timezone="Europe/London")
    gate, _ = make_gate(container.session_factory, container.clock)
    container.clock.set(datetime(2026, 12, 25, 12, 0, tzinfo=UTC))  # type: ignore[attr-defined]
    outcome = gate.deliver(reminder(holder))
    assert outcome.status == "deferred" and outcome.decision.reasons == ("blackout_day",)
    assert outcome.decision.defer_until == datetime(2026, 12, 27, 8, 0, tzinfo=UTC)
