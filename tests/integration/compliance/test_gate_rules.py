"""Who may be contacted and how often: caps, opt-out, cease, privacy, consent, free text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from accord.bootstrap import Container
from compliance import consent
from compliance.contract import SendRequest
from core.enums import Channel, MessagePurpose
from storage.db import transaction
from storage.tables import Message
from tests.compliance_builders import add_conversation, add_holder, compliance_config, make_gate, reminder

NOON_NY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
NOON_SH = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
PACKS = compliance_config().packs


def _inbound(container: Container, holder_id: int, conversation_id: int, point_id: int | None, at: datetime) -> None:
    with transaction(container.session_factory) as s:
        s.add(Message(cardholder_id=holder_id, conversation_id=conversation_id, contact_point_id=point_id,
                      channel="sms", direction="inbound", status="received", author="cardholder", text="hi",
                      created_at=at))


def _reply(holder_id: int, conversation_id: int, template: str = "holding.reply") -> SendRequest:
    return SendRequest(cardholder_id=holder_id, channel=Channel.SMS, purpose=MessagePurpose.BOT_REPLY,
                       template_id=template, author="bot", conversation_id=conversation_id)


def test_massachusetts_cap_is_two_in_seven_days(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY, jurisdiction="US-MA")
    gate, channels = make_gate(container.session_factory, container.clock)

    statuses = []
    for _ in range(3):
        statuses.append(gate.deliver(reminder(holder)).status)
        container.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    third = gate.deliver(reminder(holder))

    assert statuses == ["sent", "sent", "blocked"]
    assert third.decision.reasons == ("frequency_cap:per_7_days",) and third.decision.rule == "US-MA.frequency_cap"
    assert third.decision.counters["caps"]["per_7_days"] == {"count": 2, "max": 2, "window_hours": 168}
    container.clock.set(NOON_NY + timedelta(days=7, seconds=1))  # type: ignore[attr-defined]  # first one left the window
    assert gate.deliver(reminder(holder)).status == "sent"
    assert len(channels[Channel.SMS].sent) == 3


def test_china_cap_is_three_a_day_across_channels(container: Container) -> None:
    container.clock.set(NOON_SH)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_SH, jurisdiction="CN", timezone="Asia/Shanghai",
                        language="zh", currency="CNY", telegram=True, verified=True)
    gate, _ = make_gate(container.session_factory, container.clock)
    results = []
    for channel in (Channel.SMS, Channel.TELEGRAM, Channel.SMS, Channel.TELEGRAM):
        results.append(gate.deliver(reminder(holder, channel=channel)).status)
        container.clock.advance(timedelta(minutes=30))  # type: ignore[attr-defined]
    assert results == ["sent", "sent", "sent", "blocked"]


def test_replies_in_a_cardholder_started_conversation_do_not_count(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY, jurisdiction="US-MA")
    conv = add_conversation(container.session_factory, NOON_NY, holder, cardholder_started=True)
    gate, _ = make_gate(container.session_factory, container.clock)
    assert [gate.deliver(reminder(holder)).status for _ in range(2)] == ["sent", "sent"]
    _inbound(container, holder.id, conv, holder.sms_id, NOON_NY)
    replies = [gate.deliver(_reply(holder.id, conv)) for _ in range(3)]
    assert [r.status for r in replies] == ["sent"] * 3
    assert replies[0].decision.counters["counts_toward_cap"] is False
    # A "reply" long after the cardholder's last message is a new contact, and the cap applies.
    container.clock.advance(timedelta(hours=25))  # type: ignore[attr-defined]
    late = gate.deliver(_reply(holder.id, conv))
    assert late.status == "blocked" and late.decision.reasons == ("frequency_cap:per_7_days",)


def test_reply_to_a_late_message_goes_out_of_hours_within_the_grace(container: Container) -> None:
    late_evening = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)  # 22:30 in New York
    container.clock.set(late_evening)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, late_evening)
    conv = add_conversation(container.session_factory, late_evening, holder)
    gate, _ = make_gate(container.session_factory, container.clock)
    assert gate.deliver(_reply(holder.id, conv)).status == "deferred"  # nothing from them yet
    _inbound(container, holder.id, conv, holder.sms_id, late_evening)
    assert gate.deliver(_reply(holder.id, conv)).status == "sent"
    assert gate.deliver(reminder(holder)).status == "deferred"  # a reminder is not a reply


def test_after_stop_only_one_confirmation(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, channels = make_gate(container.session_factory, container.clock)
    with transaction(container.session_factory) as s:
        assert consent.record_opt_out(s, holder.sms_id, "keyword", NOON_NY, "cardholder")
        assert not consent.record_opt_out(s, holder.sms_id, "keyword", NOON_NY, "cardholder")  # a second STOP

    confirm = SendRequest(cardholder_id=holder.id, channel=Channel.SMS, purpose=MessagePurpose.OPT_OUT_CONFIRMATION,
                          template_id="opt_out.confirmation", author="bot")
    first = gate.deliver(confirm)
    second = gate.deliver(confirm)
    blocked = [gate.deliver(reminder(holder)),
               gate.deliver(reminder(holder, template="help.info", purpose=MessagePurpose.HELP))]

    assert first.status == "sent" and "Reply STOP" not in (first.decision.text or "")
    assert second.status == "blocked" and second.decision.reasons == ("opt_out_already_confirmed",)
    assert [b.decision.reasons for b in blocked] == [("opted_out",), ("opted_out",)]
    assert len(channels[Channel.SMS].sent) == 1


def test_us_confirmation_must_follow_the_stop_within_five_minutes(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, _ = make_gate(container.session_factory, container.clock)
    with transaction(container.session_factory) as s:
        consent.record_opt_out(s, holder.sms_id, "keyword", NOON_NY - timedelta(minutes=6), "cardholder")
    late = gate.deliver(SendRequest(cardholder_id=holder.id, channel=Channel.SMS,
                                    purpose=MessagePurpose.OPT_OUT_CONFIRMATION, template_id="opt_out.confirmation",
                                    author="bot"))
    assert late.decision.reasons == ("opt_out_confirmation_too_late",)


def test_resubscribe_restores_the_channel(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, _ = make_gate(container.session_factory, container.clock)
    with transaction(container.session_factory) as s:
        consent.record_opt_out(s, holder.sms_id, "keyword", NOON_NY, "cardholder")
        assert consent.record_resubscribe(s, holder.sms_id, NOON_NY, "cardholder")
    back = gate.deliver(SendRequest(cardholder_id=holder.id, channel=Channel.SMS,
                                    purpose=MessagePurpose.RESUBSCRIBE_CONFIRMATION,
                                    template_id="resubscribe.confirmation", author="bot"))
    assert back.status == "sent" and gate.deliver(reminder(holder)).status == "sent"


def test_us_cease_leaves_one_acknowledgement(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, _ = make_gate(container.session_factory, container.clock)
    with transaction(container.session_factory) as s:
        consent.record_cease_request(s, holder.id, PACKS.get("US"), NOON_NY, "cardholder")
    ack = SendRequest(cardholder_id=holder.id, channel=Channel.SMS, purpose=MessagePurpose.CEASE_ACKNOWLEDGEMENT,
                      template_id="cease.acknowledgement", author="bot")
    assert gate.deliver(ack).status == "sent"
    assert gate.deliver(ack).decision.reasons == ("cease_already_acknowledged",)
    assert gate.deliver(reminder(holder)).decision.reasons == ("protective_state:cease",)


def test_cn_cease_still_answers_the_cardholder(container: Container) -> None:
    container.clock.set(NOON_SH)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_SH, jurisdiction="CN", timezone="Asia/Shanghai", language="zh")
    conv = add_conversation(container.session_factory, NOON_SH, holder)
    gate, _ = make_gate(container.session_factory, container.clock)
    with transaction(container.session_factory) as s:
        consent.record_cease_request(s, holder.id, PACKS.get("CN"), NOON_SH, "cardholder")
    assert gate.deliver(reminder(holder)).decision.reasons == ("protective_state:cease",)
    assert gate.deliver(_reply(holder.id, conv)).status == "sent"


def test_unverified_us_number_gets_the_limited_alternative(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY, verified=False)
    gate, channels = make_gate(container.session_factory, container.clock)

    outcome = gate.deliver(reminder(holder, template="reminder.dpd_30_59"))
    thanks = gate.deliver(reminder(holder, template="payment.thanks", purpose=MessagePurpose.PAYMENT_THANKS))

    assert outcome.status == "sent"
    text = outcome.decision.text or ""
    assert "$" not in text and "debt" not in text.lower() and "0042" not in text
    with container.session_factory() as s:
        assert s.get_one(Message, outcome.message_id).template_id == "reminder.limited"
    assert thanks.status == "blocked" and thanks.decision.reasons == ("not_verified",)


def test_third_party_never_gets_account_details(container: Container) -> None:
    container.clock.set(NOON_SH)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_SH, jurisdiction="CN", timezone="Asia/Shanghai", language="zh")
    conv = add_conversation(container.session_factory, NOON_SH, holder)
    gate, _ = make_gate(container.session_factory, container.clock)
    with transaction(container.session_factory) as s:
        consent.mark_third_party(s, conv, NOON_SH, "bot")
    plan = SendRequest(cardholder_id=holder.id, channel=Channel.SMS, purpose=MessagePurpose.BOT_REPLY,
                       template_id="plan.confirmation", author="bot", conversation_id=conv, account_id=holder.account_id,
                       params={"term_months": 6, "monthly_amount_minor": 10_000, "first_due_date": "2026-12-01",
                               "plan_total_minor": 60_000})
    officer = SendRequest(cardholder_id=holder.id, channel=Channel.SMS, purpose=MessagePurpose.OFFICER_REPLY,
                          template_id="officer.free_text", author="officer:li", conversation_id=conv,
                          free_text="您的欠款为50元")
    assert gate.deliver(plan).decision.reasons == ("third_party",)
    assert gate.deliver(officer).decision.reasons == ("third_party",)


def test_sms_needs_a_recorded_consent_basis(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY, sms_consent=None)
    gate, _ = make_gate(container.session_factory, container.clock)
    outcome = gate.deliver(reminder(holder))
    assert outcome.decision.reasons == ("no_consent",) and outcome.decision.rule == "US.consent"


def test_officer_free_text_is_linted(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    conv = add_conversation(container.session_factory, NOON_NY, holder)
    gate, channels = make_gate(container.session_factory, container.clock)

    def officer(text: str) -> SendRequest:
        return SendRequest(cardholder_id=holder.id, channel=Channel.SMS, purpose=MessagePurpose.OFFICER_REPLY,
                           template_id="officer.free_text", author="officer:kim", conversation_id=conv, free_text=text)

    bad = gate.deliver(officer("Pay within 24 hours or we will tell your employer."))
    good = gate.deliver(officer("Thanks, I have noted your new payment date."))
    bot = gate.deliver(SendRequest(cardholder_id=holder.id, channel=Channel.SMS, purpose=MessagePurpose.BOT_REPLY,
                                   template_id="x", author="bot", conversation_id=conv, free_text="hello"))

    assert bad.status == "blocked" and bad.decision.reasons == ("lint:third_party_pressure",)
    wording = next(c for c in bad.decision.checks if c.rule == "US.wording")
    assert "(pressure)" in wording.detail and "(third_party_pressure)" in wording.detail
    assert good.status == "sent" and (good.decision.text or "").startswith("Example Bank: Thanks")
    assert bot.decision.reasons == ("free_text_not_allowed",)
    assert len(channels[Channel.SMS].sent) == 1


def test_paid_up_account_gets_no_reminder(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY, stage="current")
    gate, _ = make_gate(container.session_factory, container.clock)
    assert gate.deliver(reminder(holder)).decision.reasons == ("nothing_due",)


def test_unapproved_or_wrong_purpose_templates_are_refused(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, _ = make_gate(container.session_factory, container.clock)
    assert gate.deliver(reminder(holder, template="reminder.nope")).decision.reasons == ("template_unknown",)
    assert gate.deliver(reminder(holder, template="opt_out.confirmation")).decision.reasons == (
        "template_purpose_mismatch",)
    assert gate.deliver(reminder(holder, template="footer.reply_stop")).decision.reasons == (
        "template_purpose_mismatch",)
