"""One turn, one message: a turn's replies through the real gate (deliver_combined) on both databases. The plan
offer leaves as one SMS where it fits the pack's limit, else as few as fit, in order; one decision and one message
row name every template; the lint, privacy, required elements and length apply to the whole message."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select

from accord.bootstrap import Container
from compliance.audit import AuditLog, verify
from compliance.catalog import Catalog
from compliance.contract import DeliveryOutcome, SendRequest
from compliance.explain import explain_text, explanation
from compliance.gate import ComplianceGate
from compliance.sms import sms_length
from compliance.turn_message import merge
from core.enums import Channel, MessagePurpose
from storage.db import transaction
from storage.tables import AuditEvent, ComplianceDecision, Message
from tests.compliance_builders import Holder, add_conversation, add_holder, compliance_config, make_gate
from tests.fakes.channels import recording_channels
from tests.plan_offer import plan_offer

NOON_SHANGHAI = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
NOON_NY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def cn_holder(container: Container, *, language: str = "zh", ext: str = "CN1", verified: bool = True) -> Holder:
    container.clock.set(NOON_SHANGHAI)  # type: ignore[attr-defined]
    return add_holder(container.session_factory, NOON_SHANGHAI, ext=ext, jurisdiction="CN", timezone="Asia/Shanghai",
                      language=language, currency="CNY", stage="dpd_30_59", days_past_due=40, verified=verified)


def turn(container: Container, holder: Holder, replies: list[tuple[str, dict[str, object]]], *,
         channel: Channel = Channel.SMS, purpose: MessagePurpose = MessagePurpose.BOT_REPLY) -> list[SendRequest]:
    """The requests bot/inbound.py builds for a turn's replies, in a conversation the cardholder just wrote in."""
    at = container.clock.now()
    conversation = add_conversation(container.session_factory, at, holder, channel=channel.value)
    with transaction(container.session_factory) as s:
        s.add(Message(cardholder_id=holder.id, account_id=holder.account_id, conversation_id=conversation,
                      contact_point_id=holder.sms_id if channel is Channel.SMS else holder.telegram_id,
                      channel=channel.value, direction="inbound", status="received", author="cardholder",
                      text="hello", created_at=at))
    return [SendRequest(cardholder_id=holder.id, channel=channel, purpose=purpose, template_id=template,
                        params=dict(params), author="bot", account_id=holder.account_id,
                        conversation_id=conversation) for template, params in replies]


def outbound(container: Container) -> list[Message]:
    with container.session_factory() as s:
        return list(s.scalars(select(Message).where(Message.direction == "outbound").order_by(Message.id)))


def decision_of(container: Container, message: Message) -> ComplianceDecision:
    with container.session_factory() as s:
        return s.get_one(ComplianceDecision, message.decision_id)


def test_a_five_template_plan_offer_is_one_sms_of_at_most_three_segments_under_cn(container: Container) -> None:
    holder = cn_holder(container)
    offer = plan_offer(balance_minor=250_000, currency="CNY", stage="dpd_30_59", affordable_minor=None)
    assert [t for t, _ in offer] == ["plan.offer_intro", "plan.option_installments", "plan.option_installments",
                                     "plan.waivers_fees", "plan.choose"]
    gate, channels = make_gate(container.session_factory, container.clock)

    outcomes = gate.deliver_combined(turn(container, holder, offer))

    assert [o.status for o in outcomes if isinstance(o, DeliveryOutcome)] == ["sent"]
    [sent] = channels[Channel.SMS].sent
    assert sms_length(sent.text).segments <= 3
    # The pack's elements once: the sender prefix at the start, the opt-out footer at the end.
    assert sent.text.startswith("【示例银行】") and sent.text.count("【示例银行】") == 1
    assert sent.text.endswith("回复TD退订") and sent.text.count("回复TD退订") == 1
    assert sent.text.index("以下方案") < sent.text.index("方案1") < sent.text.index("方案2") < sent.text.index("请回复方案编号")
    [row] = outbound(container)
    assert (row.template_id, row.template_version, row.status, row.text) == ("plan.offer_intro", 1, "sent", sent.text)
    decision = decision_of(container, row)
    assert decision.counters["parts"] == [{"template_id": t, "version": 1} for t, _ in offer]
    assert [c["rule"] for c in decision.checks].count("CN.template") == 5
    assert [c["detail"] for c in decision.checks if c["rule"] == "CN.length"] == [
        f"{sms_length(sent.text).segments} SMS segment(s), {sms_length(sent.text).units} UCS-2 units; limit 3"]
    with container.session_factory() as s:
        assert verify(s).ok
        events = s.scalars(select(AuditEvent).where(AuditEvent.kind == "compliance.decision")).all()
        assert len(events) == 1 and [p["template_id"] for p in events[0].payload["parts"]] == [t for t, _ in offer]
        text = explain_text(explanation(s, row.id))
    assert ("one message of 5 parts, in order: plan.offer_intro v1, plan.option_installments v1, "
            "plan.option_installments v1, plan.waivers_fees v1, plan.choose v1") in text


def test_an_offer_too_long_for_one_sms_is_two_in_order(container: Container) -> None:
    holder = cn_holder(container)
    offer = plan_offer(balance_minor=600_000, currency="CNY", stage="dpd_30_59", affordable_minor=150_000)
    assert len(offer) == 6  # intro, three options, waivers, question
    gate, channels = make_gate(container.session_factory, container.clock)

    outcomes = gate.deliver_combined(turn(container, holder, offer))

    assert [o.status for o in outcomes if isinstance(o, DeliveryOutcome)] == ["sent", "sent"]
    sent = channels[Channel.SMS].sent
    assert [sms_length(m.text).segments <= 3 for m in sent] == [True, True]
    assert all(m.text.startswith("【示例银行】") and m.text.endswith("回复TD退订") for m in sent)
    rows = outbound(container)
    parts = [[p["template_id"] for p in decision_of(container, row).counters.get("parts", [])] or [row.template_id]
             for row in rows]
    assert [t for message in parts for t in message] == [t for t, _ in offer]  # every part once, in order
    assert parts[0][0] == "plan.offer_intro" and parts[-1][-1] == "plan.choose"
    # Split only at the limit: the first message could not have taken the next part.
    first_count = len(parts[0])
    single = gate.evaluate(merge(turn(container, holder, offer[:first_count + 1])))
    assert single.reasons == ("too_long",)


def test_a_forbidden_word_in_one_part_blocks_the_whole_message(container: Container) -> None:
    holder = cn_holder(container)
    config = compliance_config()
    base = config.catalog
    # A catalog with one approved bot reply that the lint must stop (the real catalog has none, by its own lint).
    template = base.get("plan.waivers_fees", "zh")
    assert template is not None
    bad = replace(template, id="test.threat", text="逾期不还将追究刑事责任。")
    catalog = Catalog({**{(t.id, t.language): t for t in base}, ("test.threat", "zh"): bad}, base.institution,
                      base.linter, base.files)
    channels = recording_channels()
    gate = ComplianceGate(container.session_factory, container.clock, config.packs, catalog, channels,
                          AuditLog(container.clock))
    replies = [("plan.offer_intro", {}), ("test.threat", {}), ("plan.choose", {})]

    outcomes = gate.deliver_combined(turn(container, holder, replies))

    [blocked] = outcomes
    assert isinstance(blocked, DeliveryOutcome) and blocked.status == "blocked"
    assert blocked.decision.reasons == ("lint:threat_arrest",)
    assert channels[Channel.SMS].sent == []
    [row] = outbound(container)
    assert row.status == "blocked" and "刑事责任" in row.text
    assert [p["template_id"] for p in decision_of(container, row).counters["parts"]] == [t for t, _ in replies]


def test_a_part_with_account_details_to_an_unverified_person_blocks_the_whole_message(container: Container) -> None:
    # US: the number on file is not the cardholder until verified. One reminder alone gets its limited
    # alternative, as before; inside a message of several parts the whole message is blocked instead.
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY, verified=False)
    gate, channels = make_gate(container.session_factory, container.clock)
    request = SendRequest(cardholder_id=holder.id, channel=Channel.SMS, purpose=MessagePurpose.REMINDER,
                          template_id="reminder.dpd_1_29", author="scheduler", account_id=holder.account_id)

    alone = gate.evaluate(request)
    assert alone.allowed and alone.counters.get("parts") is None
    both = gate.evaluate(replace(request, template_id="reminder.limited", extra_parts=(request.parts[0],)))
    assert not both.allowed and both.reasons == ("not_verified",)
    assert any(not c.passed and c.rule == "US.privacy" and c.detail.startswith("part 2 of 2: reminder.dpd_1_29")
               for c in both.checks)
    assert channels[Channel.SMS].sent == []


def test_a_single_reply_is_decided_and_recorded_exactly_as_before(container: Container) -> None:
    first, second = cn_holder(container, ext="CN1"), cn_holder(container, ext="CN2")
    gate, channels = make_gate(container.session_factory, container.clock)
    replies = [("plan.choose", {})]

    before = gate.deliver_many(turn(container, first, replies))
    after = gate.deliver_combined(turn(container, second, replies))

    assert [type(o) for o in before] == [type(o) for o in after] == [DeliveryOutcome]
    a, b = before[0], after[0]
    assert isinstance(a, DeliveryOutcome) and isinstance(b, DeliveryOutcome)
    def checks(outcome: DeliveryOutcome) -> list[tuple[str, bool, str, str | None]]:
        return [(c.rule, c.passed, re.sub(r"contact point \d+", "contact point N", c.detail), c.reason)
                for c in outcome.decision.checks]

    assert checks(a) == checks(b)
    assert (a.decision.text, a.decision.counters) == (b.decision.text, b.decision.counters)
    rows = outbound(container)
    assert [(r.template_id, r.template_version, r.text, r.status) for r in rows[:1]] == [
        (r.template_id, r.template_version, r.text, r.status) for r in rows[1:]]
    assert "parts" not in decision_of(container, rows[1]).counters


def test_an_acknowledgement_stays_its_own_message_and_telegram_takes_the_whole_offer(container: Container) -> None:
    container.clock.set(NOON_SHANGHAI)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_SHANGHAI, ext="TG1", jurisdiction="CN",
                        timezone="Asia/Shanghai", language="zh", currency="CNY", stage="dpd_30_59",
                        days_past_due=40, sms=False, telegram=True)
    gate, channels = make_gate(container.session_factory, container.clock)
    offer = plan_offer(balance_minor=600_000, currency="CNY", stage="dpd_30_59", affordable_minor=150_000)
    requests = turn(container, holder, offer, channel=Channel.TELEGRAM)
    ack = replace(requests[0], template_id="dispute.acknowledged", params={},
                  purpose=MessagePurpose.STATE_ACKNOWLEDGEMENT)

    outcomes = gate.deliver_combined([*requests, ack])

    assert len(outcomes) == 2  # the offer in one message (4096 characters), the acknowledgement apart
    sent = channels[Channel.TELEGRAM].sent
    assert len(sent) == 2 and sent[0].text.count("方案") >= 3
    rows = outbound(container)
    assert len(decision_of(container, rows[0]).counters["parts"]) == len(offer)
    assert [o.status for o in outcomes if isinstance(o, DeliveryOutcome)] == ["sent", "sent"]
    assert rows[1].purpose == "state_acknowledgement" and "parts" not in decision_of(container, rows[1]).counters
