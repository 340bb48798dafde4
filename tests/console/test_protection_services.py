"""Protective states on the desk, against real SQLite and PostgreSQL: setting them with evidence, confirming a
proposal, and every way an officer may end one, with the pack's supervisor rule, the rejected dispute's validation
notice and the distress resume date. The rules are compliance/protection*.py's; these tests check that the desk
calls them as an officer's decision and that the gate agrees afterwards."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.bootstrap import Container
from accord.policy_packs import pack_of
from compliance.contract import SendRequest
from compliance.packs import Pack
from compliance.protection import active_facts, set_state
from core.enums import Channel, MessagePurpose
from core.protection import OUTCOMES, ProtectiveKind, SetBy
from storage.db import transaction
from storage.tables import AuditEvent, Cardholder, Conversation, OutboxItem, ProtectiveState
from tests.console.seed import World, seed
from web.console.desk import protection, wiring
from web.console.desk.protection import ProtectionError, StateForm

EVIDENCE = {
    ProtectiveKind.ATTORNEY: {"attorney_name": "Alice Counsel", "attorney_contact": "+1 212 555 0199"},
    ProtectiveKind.BANKRUPTCY: {"case_number": "24-10001", "court": "S.D.N.Y."},
    ProtectiveKind.VULNERABILITY: {"driver": "health"},
}


def _world(container: Container) -> World:
    with transaction(container.session_factory) as s:
        return seed(s, container.clock.now())


def _conv(s: Session, world: World, key: str = "us") -> Conversation:
    conv = s.get(Conversation, world.conversations[key])
    assert conv is not None
    return conv


def _pack(container: Container, s: Session, conv: Conversation) -> Pack:
    holder = s.get(Cardholder, conv.cardholder_id)
    assert holder is not None
    pack = pack_of(container, holder.jurisdiction)
    assert pack is not None
    return pack


def _set(container: Container, s: Session, conv: Conversation, kind: ProtectiveKind, at: datetime,
         **fields: Any) -> ProtectiveState:
    form = StateForm(kind=kind.value, reason=f"officer heard: {kind.value}", **{**EVIDENCE.get(kind, {}), **fields})
    state = protection.set_from_console(s, conv, form, "olivia", at, _pack(container, s, conv))
    assert state is not None
    return state


def _queued_reminder(s: Session, conv: Conversation, at: datetime, key: str) -> OutboxItem:
    item = OutboxItem(idempotency_key=key, cardholder_id=conv.cardholder_id, conversation_id=conv.id,
                      contact_point_id=conv.contact_point_id, channel=conv.channel, purpose="reminder",
                      template_id="reminder.gentle", language="en", params={}, not_before=at, status="queued",
                      created_at=at, updated_at=at)
    s.add(item)
    s.flush()
    return item


def test_setting_a_state_records_evidence_cancels_queued_messages_and_is_audited(container: Container) -> None:
    now, world = container.clock.now(), _world(container)
    with transaction(container.session_factory) as s:
        conv = _conv(s, world)
        reminder = _queued_reminder(s, conv, now, "reminder:test")
        state = _set(container, s, conv, ProtectiveKind.ATTORNEY, now, message_id=world.messages["us.inbound"],
                     note="called in")
        state_id, reminder_id = state.id, reminder.id
    with transaction(container.session_factory) as s:
        row = s.get(ProtectiveState, state_id)
        assert row is not None
        assert (row.kind, row.status, row.set_by, row.actor, row.contact_point_id) == (
            "attorney", "active", "officer", "officer:olivia", None)
        assert row.evidence == {"conversation_id": world.conversations["us"], "message_id": world.messages["us.inbound"],
                                "attorney_name": "Alice Counsel", "attorney_contact": "+1 212 555 0199",
                                "note": "called in"}
        cancelled = s.get(OutboxItem, reminder_id)
        assert cancelled is not None and (cancelled.status, cancelled.last_error) == (
            "cancelled", "protective_state:attorney")
        events = [(e.actor, e.kind, e.payload.get("state_id")) for e in s.scalars(select(AuditEvent))]
        assert ("officer:olivia", "protection.set", state_id) in events
        # The same statement again changes nothing.
        again = protection.set_from_console(s, _conv(s, world), StateForm("attorney", "again", **EVIDENCE[
            ProtectiveKind.ATTORNEY]), "olivia", now, _pack(container, s, _conv(s, world)))
        assert again is None


@pytest.mark.parametrize(("fields", "problem"), [
    ({"kind": "attorney", "reason": "r", "attorney_name": "A"}, "an attorney needs a name and a contact"),
    ({"kind": "bankruptcy", "reason": "r"}, "a bankruptcy needs its case number"),
    ({"kind": "vulnerability", "reason": "r", "driver": "sad"}, "a vulnerability needs its driver"),
    ({"kind": "dispute", "reason": "   "}, "a reason is required"),
    ({"kind": "channel_opt_out", "reason": "r"}, "not set from the console"),
    ({"kind": "nonsense", "reason": "r"}, "unknown protective state"),
])
def test_a_state_without_its_evidence_is_refused(container: Container, fields: dict[str, str], problem: str) -> None:
    now, world = container.clock.now(), _world(container)
    with pytest.raises(ProtectionError, match=problem), transaction(container.session_factory) as s:
        conv = _conv(s, world)
        protection.set_from_console(s, conv, StateForm(**fields), "olivia", now, _pack(container, s, conv))  # type: ignore[arg-type]


def test_evidence_must_be_a_message_of_this_conversation(container: Container) -> None:
    now, world = container.clock.now(), _world(container)
    with pytest.raises(ProtectionError, match="not in this conversation"), \
            transaction(container.session_factory) as s:
        _set(container, s, _conv(s, world), ProtectiveKind.DISPUTE, now, message_id=world.messages["uk.inbound"])


def test_third_party_covers_only_this_conversations_address(container: Container) -> None:
    now, world = container.clock.now(), _world(container)
    with transaction(container.session_factory) as s:
        conv = _conv(s, world)
        state = _set(container, s, conv, ProtectiveKind.THIRD_PARTY, now)
        assert state.contact_point_id == conv.contact_point_id
        facts = active_facts(s, [conv.cardholder_id], now)[conv.cardholder_id]
        assert [(f.kind, f.contact_point_id) for f in facts] == [(ProtectiveKind.THIRD_PARTY, conv.contact_point_id)]


def test_a_proposal_is_confirmed_or_dismissed_by_an_officer(container: Container) -> None:
    now, world = container.clock.now(), _world(container)
    with transaction(container.session_factory) as s:
        conv = _conv(s, world, "uk")
        pack = _pack(container, s, conv)
        proposal = set_state(s, cardholder_id=conv.cardholder_id, kind=ProtectiveKind.VULNERABILITY,
                             set_by=SetBy.BOT, actor="bot", at=now, reason="mentioned a hospital stay", pack=pack,
                             evidence={"message_id": world.messages["uk.inbound"], "driver": "health"},
                             proposed=True)
        assert proposal is not None
        confirmed = protection.confirm_proposal(s, conv, proposal.id, "olivia", now, pack)
        assert confirmed.status == "active" and confirmed.evidence["confirmed_by"] == "officer:olivia"
        assert confirmed.review_on == date(2026, 11, 23) + timedelta(days=pack.protective_states[
            ProtectiveKind.VULNERABILITY].review_after_days or 0)
        with pytest.raises(ProtectionError, match="not waiting for confirmation"):
            protection.confirm_proposal(s, conv, proposal.id, "olivia", now, pack)
        later = now + timedelta(hours=1)
        second = set_state(s, cardholder_id=conv.cardholder_id, kind=ProtectiveKind.VULNERABILITY, set_by=SetBy.BOT,
                           actor="bot", at=later, reason="again", pack=pack, proposed=True)
        assert second is None  # one is already in force: nothing to propose
        protection.decide(s, conv, confirmed.id, outcome="vulnerability_ended", reason="recovered", username="olivia",
                          role="officer", now=later, pack=pack)
        third = set_state(s, cardholder_id=conv.cardholder_id, kind=ProtectiveKind.VULNERABILITY, set_by=SetBy.BOT,
                          actor="bot", at=later + timedelta(minutes=1), reason="not sure", pack=pack, proposed=True)
        assert third is not None
        dismissed, notice = protection.decide(s, conv, third.id, outcome=protection.DISMISS[
            ProtectiveKind.VULNERABILITY].value, reason="a relative's illness, not theirs", username="olivia",
            role="officer", now=later + timedelta(minutes=2), pack=pack)
        assert (dismissed.status, dismissed.lift_outcome, notice) == ("lifted", "vulnerability_dismissed", None)
        kinds = [e.kind for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))
                 if e.payload.get("state_id") in (proposal.id, third.id)]
        assert kinds == ["protection.proposed", "protection.confirmed", "protection.lifted", "protection.proposed",
                         "protection.lifted"]


# Every (kind, outcome) an officer can reach from the panel. Distress needs a date; a supervisor decides, so the
# pack's supervisor rule (tested below) does not get in the way.
DECISIONS = [(kind, outcome) for kind in protection.SETTABLE for outcome in OUTCOMES[kind]]


def test_every_outcome_the_panel_offers_ends_its_state_with_an_audited_decision(container: Container) -> None:
    now, world = container.clock.now(), _world(container)
    with transaction(container.session_factory) as s:
        conv = _conv(s, world)
        pack = _pack(container, s, conv)
        for step, (kind, outcome) in enumerate(DECISIONS):
            at = now + timedelta(minutes=step)
            state = _set(container, s, conv, kind, at)
            resume = date(2026, 12, 1) if kind is ProtectiveKind.DISTRESS else None
            decided, _ = protection.decide(s, conv, state.id, outcome=outcome.value, reason=f"decided {outcome}",
                                           username="sam", role="supervisor", now=at, pack=pack, resume_on=resume)
            assert (decided.status, decided.lift_outcome, decided.lifted_by) == ("lifted", outcome.value,
                                                                                "officer:sam")
            (event,) = [e for e in s.scalars(select(AuditEvent).where(AuditEvent.kind == "protection.lifted"))
                        if e.payload["state_id"] == state.id]
            assert (event.actor, event.payload["outcome"], event.payload["role"]) == (
                "officer:sam", outcome.value, "supervisor")
            if kind in (ProtectiveKind.DISPUTE, ProtectiveKind.DISTRESS):
                continue  # still in force for a while (tested below): a second round would find it
            assert kind not in {f.kind for f in active_facts(s, [conv.cardholder_id], at).get(conv.cardholder_id, ())}


@pytest.mark.parametrize("kind", [ProtectiveKind.ATTORNEY, ProtectiveKind.BANKRUPTCY, ProtectiveKind.DECEASED])
def test_only_a_supervisor_lifts_what_the_pack_reserves(container: Container, kind: ProtectiveKind) -> None:
    now, world = container.clock.now(), _world(container)
    with transaction(container.session_factory) as s:
        conv = _conv(s, world)
        pack = _pack(container, s, conv)
        assert pack.protective_states[kind].lift_requires == "supervisor"
        state = _set(container, s, conv, kind, now)
        with pytest.raises(ProtectionError, match=f"only a supervisor lift {kind.value}"):
            protection.decide(s, conv, state.id, outcome="lifted", reason="letter from the court", username="olivia",
                              role="officer", now=now, pack=pack)
        assert state.status == "active"
        decided, _ = protection.decide(s, conv, state.id, outcome="lifted", reason="letter from the court",
                                       username="sam", role="supervisor", now=now, pack=pack)
        assert decided.status == "lifted"


def test_a_decision_needs_a_reason_and_an_outcome_of_its_kind(container: Container) -> None:
    now, world = container.clock.now(), _world(container)
    with transaction(container.session_factory) as s:
        conv = _conv(s, world)
        pack = _pack(container, s, conv)
        state = _set(container, s, conv, ProtectiveKind.PAYMENT_CLAIMED, now)
        with pytest.raises(ProtectionError, match="a reason is required"):
            protection.decide(s, conv, state.id, outcome="payment_confirmed", reason=" ", username="olivia",
                              role="officer", now=now, pack=pack)
        with pytest.raises(ProtectionError, match="cannot end as dispute_upheld"):
            protection.decide(s, conv, state.id, outcome="dispute_upheld", reason="r", username="olivia",
                              role="officer", now=now, pack=pack)
        other = _conv(s, world, "uk")
        with pytest.raises(ProtectionError, match="on this case"):
            protection.decide(s, other, state.id, outcome="payment_confirmed", reason="r", username="olivia",
                              role="officer", now=now, pack=pack)


def test_a_rejected_dispute_queues_one_validation_notice_and_stays_in_force(container: Container) -> None:
    now, world = container.clock.now(), _world(container)
    with transaction(container.session_factory) as s:
        conv = _conv(s, world)
        pack = _pack(container, s, conv)
        state = _set(container, s, conv, ProtectiveKind.DISPUTE, now)
        with pytest.raises(ProtectionError, match="a reason is required"):  # refused: nothing queued
            protection.decide(s, conv, state.id, outcome="dispute_rejected", reason="", username="olivia",
                              role="officer", now=now, pack=pack)
        assert s.scalars(select(OutboxItem).where(OutboxItem.purpose == "validation_notice")).all() == []
        decided, notice = protection.decide(s, conv, state.id, outcome="dispute_rejected",
                                            reason="statement matches the ledger", username="olivia",
                                            role="officer", now=now, pack=pack)
        assert notice is not None
        with pytest.raises(ProtectionError, match="already decided"):
            protection.decide(s, conv, state.id, outcome="dispute_rejected", reason="twice", username="olivia",
                              role="officer", now=now, pack=pack)
        state_id, holder_id, point_id = state.id, conv.cardholder_id, conv.contact_point_id
    wait = timedelta(days=pack.protective_states[ProtectiveKind.DISPUTE].resume_after_days)
    with transaction(container.session_factory) as s:
        (queued,) = s.scalars(select(OutboxItem).where(OutboxItem.purpose == "validation_notice")).all()
        assert (queued.idempotency_key, queued.template_id, queued.status, queued.conversation_id) == (
            f"validation-notice:{state_id}", "dispute.validation_notice", "queued", world.conversations["us"])
        row = s.get(ProtectiveState, state_id)
        assert row is not None and row.lifted_at is not None
        assert row.lifted_at.replace(tzinfo=None) == (now + wait).replace(tzinfo=None)
        assert ProtectiveKind.DISPUTE in {f.kind for f in active_facts(s, [holder_id], now + wait / 2)[holder_id]}
        assert holder_id not in active_facts(s, [holder_id], now + wait + timedelta(seconds=1))
    # The gate, which the dispatcher takes the notice through, lets it pass the dispute and blocks a reminder.
    gate = wiring.gate(container)
    assert gate is not None

    def states_check(purpose: MessagePurpose, template: str) -> bool:
        decision = gate.evaluate(SendRequest(cardholder_id=holder_id, channel=Channel.SMS, purpose=purpose,
                                             template_id=template, author="system", contact_point_id=point_id,
                                             account_id=world.accounts["us"]))
        (check,) = [c for c in decision.checks if c.rule.endswith("protective_states")]
        return bool(check.passed)

    assert states_check(MessagePurpose.VALIDATION_NOTICE, "dispute.validation_notice")
    assert not states_check(MessagePurpose.REMINDER, "reminder.gentle")


def test_distress_is_reviewed_with_a_resume_date_in_the_future(container: Container) -> None:
    now, world = container.clock.now(), _world(container)  # 2026-11-23 02:00 UTC: 21:00 on the 22nd in New York
    with transaction(container.session_factory) as s:
        conv = _conv(s, world)
        pack = _pack(container, s, conv)
        state = _set(container, s, conv, ProtectiveKind.DISTRESS, now)
        for resume, problem in ((None, "needs the date"), (date(2026, 11, 1), "in the past")):
            with pytest.raises(ProtectionError, match=problem):
                protection.decide(s, conv, state.id, outcome="distress_reviewed", reason="spoke with them",
                                  username="olivia", role="officer", now=now, pack=pack, resume_on=resume)
        decided, _ = protection.decide(s, conv, state.id, outcome="distress_reviewed", reason="referred to support",
                                       username="olivia", role="officer", now=now, pack=pack,
                                       resume_on=date(2026, 11, 30))
        assert decided.lifted_at is not None
        # Midnight in New York on the 30th, in UTC; obeyed until then.
        assert decided.lifted_at.replace(tzinfo=None) == datetime(2026, 11, 30, 5, 0)
        holder_id = conv.cardholder_id
        assert ProtectiveKind.DISTRESS in {f.kind for f in active_facts(s, [holder_id], now + timedelta(days=6))[
            holder_id]}
        assert holder_id not in active_facts(s, [holder_id], datetime(2026, 11, 30, 5, 1, tzinfo=now.tzinfo))
