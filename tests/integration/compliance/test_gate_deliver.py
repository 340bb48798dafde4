"""The gate end to end on both databases: decision and message in one transaction, send outside it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from accord.bootstrap import Container
from compliance.audit import verify
from compliance.protection import set_state
from core.enums import Channel, MessagePurpose
from core.ports import SendResult, TransientChannelError
from storage.db import transaction
from storage.tables import AuditEvent, ComplianceDecision, ContactPoint, Message
from tests.compliance_builders import add_holder, make_gate, reminder

NOON_NY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 12:00 in New York


def test_allowed_reminder_is_sent_recorded_and_audited(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, channels = make_gate(container.session_factory, container.clock)

    outcome = gate.deliver(reminder(holder))

    assert outcome.status == "sent", outcome.decision
    assert outcome.decision.policy_pack == "US" and outcome.decision.policy_version == "2026.12.1"
    sent = channels[Channel.SMS].sent
    assert len(sent) == 1 and sent[0].text == outcome.decision.text
    assert sent[0].text.startswith("Example Bank:") and sent[0].text.endswith("Reply STOP to opt out.")
    assert "attempt to collect a debt" in sent[0].text  # the first communication carries the full disclosure
    with container.session_factory() as s:
        message = s.get_one(Message, outcome.message_id)
        assert message.status == "sent" and message.provider_message_id == f"FAKE-{message.id}"
        assert message.template_id == "reminder.dpd_1_29" and message.template_version == 1
        assert message.counts_toward_cap and message.decision_id == outcome.decision_id
        decision = s.get_one(ComplianceDecision, outcome.decision_id)
        assert decision.outcome == "allow" and decision.local_time == "2026-11-23T12:00:00-05:00"
        assert decision.timezone == "America/New_York"
        kinds = s.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq)).all()
        assert kinds == ["compliance.decision", "message.sent"]
        assert verify(s).ok
        if container.engine.dialect.name == "postgresql":
            # The sent mark commits without waiting for the WAL flush; that setting ended with its transaction.
            assert s.scalar(text("SHOW synchronous_commit")) == "on"

    second = gate.deliver(reminder(holder))
    assert "This communication is from a debt collector." in (second.decision.text or "")
    assert "attempt to collect" not in (second.decision.text or "")


def test_evaluate_is_a_dry_run(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, channels = make_gate(container.session_factory, container.clock)

    decision = gate.evaluate(reminder(holder))

    assert decision.allowed and decision.text and decision.text.startswith("Example Bank:")
    assert channels[Channel.SMS].sent == []
    with container.session_factory() as s:
        assert s.scalars(select(Message)).all() == [] and s.scalars(select(AuditEvent)).all() == []


def test_transient_failure_is_retryable_and_does_not_count(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, channels = make_gate(container.session_factory, container.clock)
    channels[Channel.SMS].answer_next(TransientChannelError("HTTP 503", retry_after_s=7.0))

    outcome = gate.deliver(reminder(holder))

    assert outcome.status == "failed" and outcome.retryable and outcome.retry_after_s == 7.0
    with container.session_factory() as s:
        assert s.get_one(Message, outcome.message_id).status == "failed"
    again = gate.deliver(reminder(holder))
    assert again.status == "sent"
    assert "attempt to collect a debt" in (again.decision.text or "")  # the failed one reached nobody


def test_carrier_unsubscribe_opts_the_number_out(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, channels = make_gate(container.session_factory, container.clock)
    channels[Channel.SMS].answer_next(SendResult(None, False, "21610", "unsubscribed", permanent=True))

    outcome = gate.deliver(reminder(holder))

    assert outcome.status == "failed" and not outcome.retryable
    with container.session_factory() as s:
        point = s.get_one(ContactPoint, holder.sms_id)
        assert point.opted_out_at == NOON_NY and point.opted_out_method == "carrier"
    assert gate.deliver(reminder(holder)).decision.reasons == ("opted_out",)


def test_invalid_number_marks_the_contact_point(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, channels = make_gate(container.session_factory, container.clock)
    channels[Channel.SMS].answer_next(SendResult(None, False, "21211", "invalid To", permanent=True))

    gate.deliver(reminder(holder))

    with container.session_factory() as s:
        assert s.get_one(ContactPoint, holder.sms_id).status == "invalid"
    assert gate.deliver(reminder(holder)).decision.reasons == ("contact_point_invalid",)


def test_unknown_send_outcome_goes_to_review_never_resent(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, channels = make_gate(container.session_factory, container.clock)
    channels[Channel.SMS].answer_next(ConnectionResetError("peer reset"))

    outcome = gate.deliver(reminder(holder))

    assert outcome.status == "review" and not outcome.retryable
    with container.session_factory() as s:
        assert s.get_one(Message, outcome.message_id).status == "review"


def test_do_not_contact_blocks_everything_with_the_reason(container: Container) -> None:
    container.clock.set(NOON_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_NY)
    gate, channels = make_gate(container.session_factory, container.clock)
    with transaction(container.session_factory) as s:
        set_state(s, cardholder_id=holder.id, kind="bankruptcy", set_by="officer", actor="officer:kim", at=NOON_NY,
                  reason="chapter 7 notice", pack=None, evidence={"case": "26-10442"})

    for template, purpose in (("reminder.dpd_1_29", MessagePurpose.REMINDER), ("help.info", MessagePurpose.HELP)):
        outcome = gate.deliver(reminder(holder, template=template, purpose=purpose))
        assert outcome.status == "blocked"
        assert outcome.decision.reasons == ("protective_state:bankruptcy",)
        assert outcome.decision.rule == "US.protective_states"
    assert channels[Channel.SMS].sent == []
