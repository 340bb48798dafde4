"""The inbound pipeline with the real compliance gate and sandbox channels, as `make run` wires them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from bot.inbound import InboundMessage, InboundOutcome, pipeline_for
from compliance import audit
from core.clock import FixedClock
from core.enums import Channel
from storage.db import transaction
from storage.tables import Message
from tests import builders


@pytest.fixture
def wired(settings: Settings) -> Iterator[tuple[Container, FixedClock]]:
    clock = FixedClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # 10:00 in New York: inside every window
    container = bootstrap(settings, clock=clock)
    with transaction(container.session_factory) as session:
        builders.cardholder(session, clock.now())
    try:
        yield container, clock
    finally:
        container.close()


def outbound(container: Container) -> list[Message]:
    with container.session_factory() as session:
        return list(session.scalars(select(Message).where(Message.direction == "outbound").order_by(Message.id)))


def test_stop_help_start_and_a_holding_reply_through_the_real_gate(wired: tuple[Container, FixedClock]) -> None:
    container, clock = wired
    pipeline = pipeline_for(container)

    def say(text: str) -> InboundOutcome:
        return pipeline.receive(InboundMessage(Channel.SMS, "+12125550123", text, clock.now())).outcome

    assert say("HELP") is InboundOutcome.HELP
    assert say("STOP") is InboundOutcome.OPTED_OUT
    assert say("STOP") is InboundOutcome.OPTED_OUT
    assert say("START") is InboundOutcome.RESUBSCRIBED
    assert say("I can pay half on Friday") is InboundOutcome.HANDED_TO_OFFICER

    sent = outbound(container)
    assert [m.template_id for m in sent] == [
        "help.info", "opt_out.confirmation", "resubscribe.confirmation", "holding.reply"
    ]
    assert all(m.status == "sent" and m.provider_message_id.startswith("SBX-") for m in sent)
    assert "unsubscribed" in sent[1].text  # the approved English wording, rendered by the gate
    with container.session_factory() as session:
        assert audit.verify(session).ok
