"""Promise and installment follow-ups on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from accord.bootstrap import Container
from core.clock import FixedClock
from scheduler.followups import run_followups
from scheduler.sweep import run_sweep
from storage.db import transaction
from storage.tables import Account, Escalation, Installment, InstallmentPlan, Payment, Promise
from tests.reminder_builders import build, outbox_rows

TODAY = date(2026, 11, 23)  # the fixed clock's date in Shanghai


def _promise(container: Container, account_id: int, promised: date, amount: int = 5_000) -> int:
    now = container.clock.now()
    with transaction(container.session_factory) as session:
        promise = Promise(account_id=account_id, amount_minor=amount, promised_date=promised, status="open",
                          recorded_by="bot", created_at=now - timedelta(days=3))
        session.add(promise)
        session.get_one(Account, account_id).reminders_paused_reason = "promise_to_pay"
        session.flush()
        return promise.id


def _plan(container: Container, account_id: int, dues: list[date], amount: int = 3_000) -> int:
    now = container.clock.now()
    with transaction(container.session_factory) as session:
        plan = InstallmentPlan(account_id=account_id, status="active", term_months=len(dues),
                               total_minor=amount * len(dues), monthly_minor=amount, proposed_by="bot",
                               created_at=now - timedelta(days=40), accepted_at=now - timedelta(days=40))
        session.add(plan)
        session.flush()
        for seq, due in enumerate(dues, start=1):
            session.add(Installment(plan_id=plan.id, seq=seq, due_date=due, amount_minor=amount))
        session.get_one(Account, account_id).reminders_paused_reason = "plan_active"
        return plan.id


def _pay(container: Container, account_id: int, amount: int, on: date) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as session:
        session.add(Payment(account_id=account_id, amount_minor=amount, paid_on=on, received_at=now,
                            applied_at=now))


def test_promise_follow_up_the_day_before_once(container: Container) -> None:
    account_id = build(container, dpd=12, stage="dpd_1_29")
    promise_id = _promise(container, account_id, TODAY + timedelta(days=1))
    assert run_followups(container).promise_reminders == 1
    assert run_followups(container).promise_reminders == 0
    (row,) = outbox_rows(container)
    assert (row.template_id, row.purpose, row.idempotency_key) == ("promise.follow_up", "promise_follow_up",
                                                                  f"promise:{promise_id}:follow_up")


def test_broken_promise_gets_its_message_and_reminders_resume(container: Container, clock: FixedClock) -> None:
    account_id = build(container, dpd=12, stage="dpd_1_29")
    promise_id = _promise(container, account_id, TODAY - timedelta(days=3))  # grace is 2 days
    report = run_followups(container)
    assert report.promises_broken == 1
    with container.session_factory() as session:
        assert session.get_one(Promise, promise_id).status == "broken"
        assert session.get_one(Account, account_id).reminders_paused_reason is None
    assert [row.template_id for row in outbox_rows(container)] == ["promise.broken"]
    assert run_followups(container).promises_broken == 0
    assert run_sweep(container).skipped["reminder_pending"] == 0  # the broken-promise message is not a reminder


def test_broken_promise_can_escalate_by_policy(container: Container) -> None:
    from scheduler.runtime import scheduler_config

    config = scheduler_config(container)
    container.extras["scheduler_config"] = config.model_copy(update={
        "followups": config.followups.model_copy(update={"broken_promise_next_step": "escalate"})})
    account_id = build(container, dpd=12, stage="dpd_1_29")
    _promise(container, account_id, TODAY - timedelta(days=5))
    assert run_followups(container).escalations_opened == 1
    with container.session_factory() as session:
        assert session.scalars(select(Escalation.reason)).all() == ["broken_promise"]


def test_kept_promise(container: Container) -> None:
    account_id = build(container, dpd=12, stage="dpd_1_29")
    promise_id = _promise(container, account_id, TODAY + timedelta(days=1), amount=5_000)
    _pay(container, account_id, 5_000, TODAY)
    assert run_followups(container).promises_kept == 1
    with container.session_factory() as session:
        assert session.get_one(Promise, promise_id).status == "kept"
    assert outbox_rows(container) == []


def test_installment_reminders_paid_and_missed(container: Container, clock: FixedClock) -> None:
    account_id = build(container, dpd=12, stage="dpd_1_29")
    first, second, third = TODAY - timedelta(days=20), TODAY - timedelta(days=4), TODAY + timedelta(days=2)
    plan_id = _plan(container, account_id, [first, second, third])
    _pay(container, account_id, 3_000, first)  # the first one only
    report = run_followups(container)
    assert (report.installments_paid, report.installments_missed, report.installment_reminders) == (1, 1, 1)
    with container.session_factory() as session:
        statuses = session.scalars(select(Installment.status).order_by(Installment.seq)).all()
        assert statuses == ["paid", "missed", "scheduled"]
        assert session.get_one(InstallmentPlan, plan_id).status == "active"
    assert sorted(row.template_id for row in outbox_rows(container)) == ["installment.missed",
                                                                           "installment.reminder"]
    assert run_followups(container).installment_reminders == 0


def test_two_missed_installments_break_the_plan(container: Container) -> None:
    account_id = build(container, dpd=12, stage="dpd_1_29")
    plan_id = _plan(container, account_id, [TODAY - timedelta(days=35), TODAY - timedelta(days=5)])
    report = run_followups(container)
    assert report.installments_missed == 2 and report.plans_broken == 1 and report.escalations_opened == 1
    with container.session_factory() as session:
        assert session.get_one(InstallmentPlan, plan_id).status == "broken"
        assert session.get_one(Account, account_id).reminders_paused_reason is None


def test_paid_plan_completes(container: Container) -> None:
    account_id = build(container, dpd=12, stage="dpd_1_29")
    plan_id = _plan(container, account_id, [TODAY - timedelta(days=10), TODAY + timedelta(days=20)])
    _pay(container, account_id, 6_000, TODAY - timedelta(days=11))
    assert run_followups(container).plans_completed == 1
    with container.session_factory() as session:
        assert session.get_one(InstallmentPlan, plan_id).status == "completed"


def test_a_follow_up_whose_promise_was_kept_meanwhile_is_cancelled_not_sent(container: Container) -> None:
    from scheduler.dispatcher import Dispatcher
    from tests.fakes.scripted_gate import ScriptedGate

    account_id = build(container, dpd=12, stage="dpd_1_29")
    _promise(container, account_id, TODAY + timedelta(days=1))
    run_followups(container)
    _pay(container, account_id, 5_000, TODAY)
    run_followups(container)  # the promise is kept now; its follow-up was already queued
    gate = ScriptedGate(container.session_factory, container.clock)
    report = Dispatcher(container, "w", gate=gate, sleep=lambda _s: None).drain()
    assert report.outcomes == {"cancelled": 1} and gate.requests == []
    (row,) = outbox_rows(container)
    assert (row.status, row.last_error) == ("cancelled", "promise_no_longer_open")
