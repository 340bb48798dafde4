"""One turn, one message, through the inbound pipeline with the real gate and sandbox channels: a turn's replies
leave as one SMS where the pack's limit allows, and a protective state's acknowledgement stays its own message."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from bot.inbound import InboundMessage, InboundOutcome, pipeline_for
from compliance import audit
from compliance.sms import sms_length
from core.clock import FixedClock
from core.enums import Channel
from core.ports import DialogueReply
from storage.tables import ComplianceDecision, ContactPoint, Message
from tests.compliance_builders import add_holder
from tests.fakes.dialogue import ScriptedDialogue
from tests.plan_offer import plan_offer

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)  # noon in Shanghai


@pytest.fixture
def dialogue() -> ScriptedDialogue:
    return ScriptedDialogue()


@pytest.fixture
def wired(settings: Settings, dialogue: ScriptedDialogue) -> Iterator[tuple[Container, str]]:
    container = bootstrap(settings, clock=FixedClock(NOW), dialogue=dialogue)
    holder = add_holder(container.session_factory, NOW, ext="ZH1", jurisdiction="CN", timezone="Asia/Shanghai",
                        language="zh", currency="CNY", stage="dpd_30_59", days_past_due=40)
    with container.session_factory() as s:
        phone = s.get_one(ContactPoint, holder.sms_id).address
    try:
        yield container, phone
    finally:
        container.close()


def replies_of(container: Container, message_ids: list[int]) -> list[tuple[Message, ComplianceDecision]]:
    with container.session_factory() as s:
        rows = s.scalars(select(Message).where(Message.id.in_(message_ids)).order_by(Message.id)).all()
        return [(row, s.get_one(ComplianceDecision, row.decision_id)) for row in rows]


def test_a_plan_offer_turn_leaves_as_one_sms(wired: tuple[Container, str], dialogue: ScriptedDialogue) -> None:
    container, phone = wired
    offer = plan_offer(balance_minor=250_000, currency="CNY", stage="dpd_30_59", affordable_minor=None)
    dialogue.replies = [DialogueReply(template, params) for template, params in offer]

    result = pipeline_for(container).receive(InboundMessage(Channel.SMS, phone, "每个月能还一千五", NOW, "SM1"))

    assert result.outcome is InboundOutcome.REPLIED and [r.status for r in result.replies] == ["sent"]
    [(row, decision)] = replies_of(container, [r.message_id for r in result.replies if r.message_id])
    assert row.language == "zh" and sms_length(row.text).segments <= 3
    assert row.text.count("【示例银行】") == 1 and row.text.count("回复TD退订") == 1
    assert [p["template_id"] for p in decision.counters["parts"]] == [t for t, _ in offer]
    with container.session_factory() as s:
        assert audit.verify(s).ok


def test_an_acknowledgement_is_its_own_message(wired: tuple[Container, str], dialogue: ScriptedDialogue) -> None:
    container, phone = wired
    dialogue.replies = [DialogueReply("dispute.acknowledged"), DialogueReply("dialogue.how_can_help")]

    result = pipeline_for(container).receive(InboundMessage(Channel.SMS, phone, "这笔钱不是我欠的", NOW, "SM2"))

    rows = replies_of(container, [r.message_id for r in result.replies if r.message_id])
    assert [(row.template_id, row.purpose) for row, _ in rows] == [
        ("dispute.acknowledged", "state_acknowledgement"), ("dialogue.how_can_help", "bot_reply")]
    assert all("parts" not in decision.counters for _, decision in rows)
