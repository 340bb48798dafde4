"""Property: whatever the portfolio, schedule and clock, nothing is SENT outside its pack's hours or above its caps.

Runs on SQLite with a few dozen generated examples; each example is a fresh portfolio and a random walk of the
clock (including DST days) with reminders, follow-ups, replies and keyword answers racing each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from compliance.contract import SendRequest
from compliance.hours import blackout_reason, in_hours, resolve_zone
from compliance.packs import load_packs
from core.clock import FixedClock
from core.enums import Channel, MessagePurpose
from storage.db import make_engine, make_session_factory, migrate
from storage.tables import Cardholder, Message
from tests.compliance_builders import CONFIG_DIR, add_conversation, add_holder, make_gate
from tests.conftest import empty_all_tables

PACKS = load_packs(CONFIG_DIR)
ZONES = ["America/New_York", "America/Los_Angeles", "America/Chicago", "Asia/Shanghai", "Europe/London",
         "Asia/Kolkata", "Pacific/Auckland"]
KINDS = ["reminder", "promise", "reply", "help"]

holder_st = st.tuples(st.sampled_from(["US", "US-MA", "CN", "UK"]), st.sampled_from(ZONES), st.booleans(),
                      st.sampled_from(["en", "zh"]))
step_st = st.tuples(st.integers(0, 3), st.sampled_from([Channel.SMS, Channel.TELEGRAM]), st.sampled_from(KINDS),
                    st.integers(0, 36 * 60))
start_st = st.sampled_from([datetime(2026, 3, 7, 12, tzinfo=UTC), datetime(2026, 10, 31, 20, tzinfo=UTC),
                            datetime(2026, 12, 24, 6, tzinfo=UTC), datetime(2026, 11, 23, 2, tzinfo=UTC)])


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('prop')) / 'prop.db'}"
    migrate(url)
    yield url


def _request(holder, conv: int, channel: Channel, kind: str) -> SendRequest:  # type: ignore[no-untyped-def]
    base = {"cardholder_id": holder.id, "channel": channel, "account_id": holder.account_id}
    if kind == "reminder":
        return SendRequest(purpose=MessagePurpose.REMINDER, template_id="reminder.dpd_30_59", author="scheduler", **base)
    if kind == "promise":
        return SendRequest(purpose=MessagePurpose.PROMISE_FOLLOW_UP, template_id="promise.follow_up",
                           author="scheduler", params={"amount_minor": 10_000, "promised_date": "2026-12-01"}, **base)
    if kind == "reply":
        return SendRequest(purpose=MessagePurpose.BOT_REPLY, template_id="holding.reply", author="bot",
                           conversation_id=conv if channel is Channel.SMS else None, **base)
    return SendRequest(purpose=MessagePurpose.HELP, template_id="help.info", author="bot", **base)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(holders=st.lists(holder_st, min_size=1, max_size=4), steps=st.lists(step_st, min_size=1, max_size=25),
       start=start_st)
def test_nothing_sent_outside_hours_or_above_caps(sqlite_url: str, holders, steps, start) -> None:  # type: ignore[no-untyped-def]
    empty_all_tables(sqlite_url)
    engine = make_engine(sqlite_url)
    factory = make_session_factory(engine)
    clock = FixedClock(start)
    made = []
    for i, (jurisdiction, zone, verified, language) in enumerate(holders):
        holder = add_holder(factory, start, ext=f"P{i}", jurisdiction=jurisdiction, timezone=zone, language=language,
                            telegram=True, verified=verified, currency="CNY" if jurisdiction == "CN" else "USD")
        made.append((holder, add_conversation(factory, start, holder)))
    gate, _ = make_gate(factory, clock)
    for index, channel, kind, minutes in steps:
        holder, conv = made[index % len(made)]
        clock.advance(timedelta(minutes=minutes))
        gate.deliver(_request(holder, conv, channel, kind))

    with factory() as s:
        rows = s.execute(select(Message, Cardholder.jurisdiction, Cardholder.timezone)
                         .join(Cardholder, Cardholder.id == Message.cardholder_id)
                         .where(Message.status == "sent").order_by(Message.sent_at)).all()
    engine.dispose()
    for message, jurisdiction, zone in rows:
        pack = PACKS.get(jurisdiction)
        assert pack is not None
        local = message.sent_at.astimezone(resolve_zone(zone))
        if message.purpose not in pack.contact_hours.exempt_purposes:
            assert in_hours(local, pack.contact_hours), (jurisdiction, local.isoformat(), message.purpose)
        if message.purpose not in pack.blackouts.exempt_purposes:
            assert blackout_reason(local.date(), pack.blackouts) is None, (jurisdiction, local.date())
    for holder, _conv in made:
        counted = [m.sent_at for m, _j, _z in rows if m.cardholder_id == holder.id and m.counts_toward_cap]
        pack = PACKS.get(holders[made.index((holder, _conv))][0])
        assert pack is not None
        for cap in pack.frequency.caps:
            window = timedelta(hours=cap.window_hours)
            for at in counted:
                assert sum(1 for other in counted if at - window < other <= at) <= cap.max, (pack.pack, cap.name)
