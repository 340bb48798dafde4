"""Daily staging on SQLite and PostgreSQL: ageing, stage changes, payments, thanks and the final-stage escalation."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from accord.bootstrap import Container
from compliance import audit
from core.clock import FixedClock
from scheduler.staging import run_staging
from scheduler.sweep import run_sweep
from storage.db import transaction
from storage.tables import Account, AuditEvent, Escalation, Payment, StageChange
from tests.reminder_builders import build, outbox_rows


def _account(container: Container, account_id: int) -> Account:
    with container.session_factory() as session:
        return session.get_one(Account, account_id)


def test_ageing_moves_an_account_to_the_next_stage_once(container: Container, clock: FixedClock) -> None:
    account_id = build(container, dpd=29, stage="dpd_1_29", touches_in_stage=3)
    report = run_staging(container)
    assert report.stage_changes == {} and report.days_updated == 0
    clock.advance(timedelta(days=1))
    report = run_staging(container)
    assert report.stage_changes == {"dpd_1_29->dpd_30_59": 1}
    account = _account(container, account_id)
    assert (account.stage, account.days_past_due, account.touches_in_stage) == ("dpd_30_59", 30, 0)
    assert account.stage_changed_at == clock.now()
    again = run_staging(container)
    assert again.stage_changes == {} and again.days_updated == 0
    with container.session_factory() as session:
        changes = session.execute(select(StageChange.from_stage, StageChange.to_stage, StageChange.days_past_due)).all()
    assert changes == [("dpd_1_29", "dpd_30_59", 30)]


def test_days_past_due_follow_the_local_date(container: Container, clock: FixedClock) -> None:
    # 02:00 UTC: already the 23rd in Shanghai, still the 22nd in New York.
    sh = build(container, dpd=11, stage="dpd_1_29", timezone="Asia/Shanghai", today=date(2026, 11, 23))
    ny = build(container, dpd=11, stage="dpd_1_29", timezone="America/New_York", jurisdiction="US",
               today=date(2026, 11, 23))
    run_staging(container)
    assert _account(container, sh).days_past_due == 11
    assert _account(container, ny).days_past_due == 10


def test_a_payment_that_brings_the_account_current_ends_reminders_and_thanks(container: Container) -> None:
    account_id = build(container, dpd=12, stage="dpd_1_29", minimum_due_minor=5_000, balance_minor=80_000)
    run_sweep(container)
    assert [row.status for row in outbox_rows(container)] == ["queued"]
    _pay(container, account_id, 5_000)
    report = run_staging(container)
    assert report.payments_applied == 1 and report.brought_current == 1 and report.thanks_planned == 1
    account = _account(container, account_id)
    assert (account.stage, account.minimum_due_minor, account.balance_minor) == ("current", 0, 75_000)
    reminder, thanks = outbox_rows(container)
    assert reminder.status == "cancelled" and "dpd_1_29" in (reminder.last_error or "")
    assert (thanks.template_id, thanks.purpose, thanks.status) == ("payment.thanks", "payment_thanks", "queued")
    assert run_sweep(container).planned == 0
    again = run_staging(container)
    assert again.payments_applied == 0 and again.thanks_planned == 0 and len(outbox_rows(container)) == 2


def test_a_partial_payment_keeps_reminding(container: Container) -> None:
    account_id = build(container, dpd=12, stage="dpd_1_29", minimum_due_minor=5_000)
    _pay(container, account_id, 1_000)
    report = run_staging(container)
    assert report.payments_applied == 1 and report.brought_current == 0
    assert _account(container, account_id).minimum_due_minor == 4_000
    assert run_sweep(container).planned == 1


def test_thanks_follow_policy(container: Container) -> None:
    from scheduler.runtime import scheduler_config

    config = scheduler_config(container)
    container.extras["scheduler_config"] = config.model_copy(
        update={"staging": config.staging.model_copy(update={"thank_on_current": False})})
    account_id = build(container, dpd=12, stage="dpd_1_29", minimum_due_minor=5_000)
    _pay(container, account_id, 5_000)
    report = run_staging(container)
    assert report.brought_current == 1 and report.thanks_planned == 0 and outbox_rows(container) == []


def test_final_stage_opens_one_escalation(container: Container, clock: FixedClock) -> None:
    account_id = build(container, dpd=89, stage="dpd_60_89")
    already_final = build(container, dpd=150, stage="dpd_90_plus")
    report = run_staging(container)
    assert report.escalations_opened == 1  # the account imported straight into 90+
    clock.advance(timedelta(days=1))
    report = run_staging(container)
    assert report.stage_changes == {"dpd_60_89->dpd_90_plus": 1} and report.escalations_opened == 1
    for _ in range(3):
        clock.advance(timedelta(days=1))
        assert run_staging(container).escalations_opened == 0
    with container.session_factory() as session:
        rows = session.execute(select(Escalation.account_id, Escalation.reason, Escalation.status)).all()
        kinds = session.scalars(select(AuditEvent.kind).order_by(AuditEvent.seq)).all()
        chain = audit.verify(session)
    assert sorted(rows) == sorted([(already_final, "final_stage", "open"), (account_id, "final_stage", "open")])
    assert kinds == ["escalation.opened", "account.stage_changed", "escalation.opened"]
    assert chain.ok, chain.problem


def test_a_clock_behind_the_stage_change_opens_one_escalation(container: Container, clock: FixedClock) -> None:
    # A replay of a period before the portfolio was loaded: the stage change is recorded later than "now".
    account_id = build(container, dpd=120, stage="dpd_90_plus", stage_changed_at=clock.now() + timedelta(days=2))
    opened = []
    for _ in range(4):
        opened.append(run_staging(container).escalations_opened)
        clock.advance(timedelta(hours=6))
    assert opened == [1, 0, 0, 0]
    with container.session_factory() as session:
        rows = session.execute(select(Escalation.account_id, Escalation.status)).all()
    assert rows == [(account_id, "open")]


def test_a_new_final_episode_after_a_resolved_escalation_opens_another(container: Container,
                                                                         clock: FixedClock) -> None:
    account_id = build(container, dpd=95, stage="dpd_90_plus")
    assert run_staging(container).escalations_opened == 1
    with transaction(container.session_factory) as session:
        escalation = session.scalars(select(Escalation)).one()
        escalation.status = "resolved"
        account = session.get_one(Account, account_id)
        account.stage_changed_at = clock.now() + timedelta(hours=1)  # left 90+ and came back since
    clock.advance(timedelta(hours=2))
    assert run_staging(container).escalations_opened == 1
    assert run_staging(container).escalations_opened == 0


def test_one_broken_account_does_not_stop_the_others(container: Container) -> None:
    good = build(container, dpd=29, stage="dpd_1_29")
    bad = build(container, dpd=29, stage="dpd_1_29")
    with transaction(container.session_factory) as session:
        session.get_one(Account, bad).cardholder.timezone = "Not/AZone"  # staged on UTC dates; never crashes
    container.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    report = run_staging(container)
    assert report.failed == 0
    assert _account(container, good).stage == "dpd_30_59"


def _pay(container: Container, account_id: int, amount: int) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as session:
        session.add(Payment(account_id=account_id, amount_minor=amount, paid_on=now.date(), received_at=now,
                            reference=f"P-{account_id}-{amount}-{now.timestamp()}"))

