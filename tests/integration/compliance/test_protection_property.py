"""Property: whatever sequence of protective states is set and lifted, with sweeps, follow-ups, dispatches and
replies in between, nothing that reaches a channel is something the pack's matrix forbade at that moment.

Each example runs on a fresh SQLite database with the real gate and the sandbox channel; the states' recorded
intervals (set_at to lifted_at, which may lie in the future) are compared with every message that went out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from compliance.contract import SendRequest
from compliance.protection import set_state
from compliance.protection_lifecycle import LiftError, lift
from core.clock import FixedClock
from core.enums import Channel, MessagePurpose
from core.protection import ADDRESS_KINDS, OUTCOMES, Effect, ProtectiveKind, StateStatus
from scheduler.dispatcher import Dispatcher
from scheduler.followups import run_followups
from scheduler.sweep import run_sweep
from storage.db import migrate, transaction
from storage.tables import Account, Message, Promise, ProtectiveState
from tests.compliance_builders import Holder, add_conversation, add_holder, compliance_config
from tests.conftest import empty_all_tables

START = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York, 15:00 in London
PACKS = {pack.pack.value: pack for pack in compliance_config().packs}
WENT_OUT = ("sending", "sent", "delivered")

kinds = st.sampled_from([k for k in ProtectiveKind if k is not ProtectiveKind.CHANNEL_OPT_OUT])
operations = st.lists(st.one_of(
    st.tuples(st.just("set"), kinds),
    st.tuples(st.just("lift"), kinds),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("followups")),
    st.tuples(st.just("dispatch")),
    st.tuples(st.just("reply"), st.sampled_from([MessagePurpose.BOT_REPLY, MessagePurpose.OFFICER_REPLY])),
    st.tuples(st.just("advance"), st.integers(min_value=1, max_value=30)),
), min_size=3, max_size=14)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('property')) / 'accord.db'}"
    migrate(url)
    yield url


def _world(url: str, jurisdiction: str) -> tuple[Container, Holder, int]:
    empty_all_tables(url)
    settings_ = Settings(accord_env="test", database_url=url,  # type: ignore[call-arg]
                         accord_config_dir=Path(__file__).resolve().parents[3] / "config", _env_file=None)
    container = bootstrap(settings_, clock=FixedClock(START))
    zone = {"US": "America/New_York", "US-MA": "America/New_York", "UK": "Europe/London", "CN": "Asia/Shanghai"}
    holder = add_holder(container.session_factory, START, ext="P1", jurisdiction=jurisdiction,
                        timezone=zone[jurisdiction], language="zh" if jurisdiction == "CN" else "en",
                        currency={"CN": "CNY", "UK": "GBP"}.get(jurisdiction, "USD"), verified=True)
    conversation = add_conversation(container.session_factory, START, holder)
    with transaction(container.session_factory) as s:
        # A second account with an open promise: its follow-ups run while the first account gets reminders.
        promised = Account(external_id="P1-PROMISED", cardholder_id=holder.id, product="personal_loan",
                           currency=s.get_one(Account, holder.account_id).currency, balance_minor=90_000,
                           minimum_due_minor=3_000, due_date=date(2026, 11, 11), days_past_due=12, stage="dpd_1_29",
                           created_at=START, updated_at=START)
        s.add(promised)
        s.flush()
        s.add(Promise(account_id=promised.id, amount_minor=3_000, promised_date=date(2026, 11, 24),
                      status="open", recorded_by="bot", created_at=START))
    return container, holder, conversation


def _apply(container: Container, holder: Holder, conversation: int, op: tuple[object, ...], jurisdiction: str) -> None:
    clock: FixedClock = container.clock  # type: ignore[assignment]
    now, pack = clock.now(), PACKS[jurisdiction]
    name = op[0]
    if name == "set":
        kind = ProtectiveKind(str(op[1]))
        with transaction(container.session_factory) as s:
            set_state(s, cardholder_id=holder.id, kind=kind, set_by="officer", actor="officer:prop", at=now,
                      reason="property", pack=pack, contact_point_id=holder.sms_id if kind in ADDRESS_KINDS else None)
    elif name == "lift":
        kind = ProtectiveKind(str(op[1]))
        with transaction(container.session_factory) as s:
            row = s.scalars(select(ProtectiveState).where(ProtectiveState.kind == kind.value,
                                                          ProtectiveState.status == StateStatus.ACTIVE.value)).first()
            if row is not None:
                try:
                    lift(s, row.id, outcome=OUTCOMES[kind][0], actor="officer:prop", role="supervisor",
                         reason="property", at=now, pack=pack, resume_on=(now + timedelta(days=2)).date())
                except LiftError:
                    pass
    elif name == "sweep":
        run_sweep(container, now)
    elif name == "followups":
        run_followups(container, now)
    elif name == "dispatch":
        Dispatcher(container, "prop", sleep=lambda _s: None, unit_random=lambda: 0.5).run_batch()
    elif name == "reply":
        purpose = MessagePurpose(str(op[1]))
        container.extras["gate"].deliver(SendRequest(
            cardholder_id=holder.id, channel=Channel.SMS, purpose=purpose, author=(
                "officer:prop" if purpose is MessagePurpose.OFFICER_REPLY else "bot"),
            template_id="plan.choose" if purpose is MessagePurpose.BOT_REPLY else "holding.reply",
            conversation_id=conversation, account_id=holder.account_id, contact_point_id=holder.sms_id))
    elif name == "advance":
        clock.set(now + timedelta(hours=int(str(op[1]))))


def _violations(container: Container, jurisdiction: str) -> list[str]:
    pack, catalog = PACKS[jurisdiction], compliance_config().catalog
    with container.session_factory() as s:
        states = s.scalars(select(ProtectiveState)).all()
        sent = s.scalars(select(Message).where(Message.direction == "outbound", Message.status.in_(WENT_OUT))).all()
    wrong = []
    for message in sent:
        purpose = MessagePurpose(message.purpose or "bot_reply")
        for state in states:
            if state.status == StateStatus.PROPOSED.value or state.set_at > message.created_at:
                continue
            if state.lifted_at is not None and state.lifted_at <= message.created_at:
                continue
            if state.contact_point_id is not None and state.contact_point_id != message.contact_point_id:
                continue
            effect = pack.effect(state.kind, purpose)
            template = catalog.get(message.template_id or "", message.language or "en")
            if effect is Effect.BLOCK:
                wrong.append(f"{purpose.value} ({message.template_id}) went out under {state.kind}")
            elif effect is Effect.LIMITED and not (template and template.limited_content):
                wrong.append(f"{purpose.value} ({message.template_id}) carried details under {state.kind}")
    return wrong


@pytest.mark.parametrize("jurisdiction", ["US", "UK", "CN"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_no_sequence_of_states_lets_a_forbidden_message_out(database: str, jurisdiction: str,
                                                           ops: list[tuple[object, ...]]) -> None:
    container, holder, conversation = _world(database, jurisdiction)
    try:
        clock: FixedClock = container.clock  # type: ignore[assignment]
        for op in ops:
            _apply(container, holder, conversation, op, jurisdiction)
            clock.set(clock.now() + timedelta(seconds=1))  # each step at its own instant, so order is time order
        assert _violations(container, jurisdiction) == []
    finally:
        container.close()


def test_the_world_sends_reminders_follow_ups_and_replies_when_nothing_is_set(database: str) -> None:
    """The property above is only worth something if its steps really send: without any state they do."""
    container, holder, conversation = _world(database, "US")
    try:
        for op in (("sweep",), ("followups",), ("dispatch",), ("reply", MessagePurpose.BOT_REPLY)):
            _apply(container, holder, conversation, op, "US")
        with container.session_factory() as s:
            sent = sorted(str(p) for p in s.scalars(select(Message.purpose).where(
                Message.direction == "outbound", Message.status.in_(WENT_OUT))))
        assert sent == ["bot_reply", "promise_follow_up", "reminder"]
    finally:
        container.close()
