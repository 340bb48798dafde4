"""The reminder sweep on SQLite and PostgreSQL: idempotence, cadence, channel choice and exclusions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from accord.bootstrap import Container
from compliance.protection import set_state
from core.clock import FixedClock
from scheduler.sweep import run_sweep
from storage.db import transaction
from storage.tables import Account, Cardholder, ContactPoint, InstallmentPlan, OutboxItem, Promise
from tests.reminder_builders import build, outbox_count, outbox_rows


def test_a_second_sweep_with_the_same_now_adds_zero_rows(container: Container) -> None:
    for dpd, stage in ((-2, "pre_due"), (5, "dpd_1_29"), (40, "dpd_30_59"), (70, "dpd_60_89"), (95, "dpd_90_plus")):
        build(container, dpd=dpd, stage=stage)
    first = run_sweep(container)
    assert first.planned == 5
    before = outbox_count(container)
    second = run_sweep(container)
    assert second.planned == 0 and outbox_count(container) == before == 5
    # Even with the pending-row check out of the way (rows already sent), the idempotency key holds.
    with transaction(container.session_factory) as session:
        session.execute(update(OutboxItem).values(status="sent"))
    third = run_sweep(container)
    assert third.planned == 0 and third.already_planned == 5 and outbox_count(container) == 5


def test_rows_carry_stage_template_language_and_key(container: Container) -> None:
    account_id = build(container, dpd=40, stage="dpd_30_59", language="zh")
    run_sweep(container)
    (row,) = outbox_rows(container)
    assert row.template_id == "reminder.dpd_30_59"
    assert row.language == "zh"
    assert row.purpose == "reminder" and row.status == "queued" and row.account_id == account_id
    assert row.idempotency_key.startswith(f"reminder:{account_id}:") and row.idempotency_key.endswith(":dpd_30_59:2")
    assert row.params["tone"] == "firm" and row.params["days_past_due"] == 40


def test_cadence_waits_every_days_after_a_sent_reminder(container: Container, clock: FixedClock) -> None:
    account_id = build(container, dpd=10, stage="dpd_1_29")  # every 7 days
    assert run_sweep(container).planned == 1
    _mark_sent(container, account_id, clock.now())
    for day in range(1, 7):
        clock.set(datetime(2026, 11, 23, 2, 0, tzinfo=UTC) + timedelta(days=day))
        _restage(container, account_id, 10 + day)
        assert run_sweep(container).planned == 0, f"day {day}"
    clock.set(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    _restage(container, account_id, 17)
    assert run_sweep(container).planned == 1


def test_planned_for_the_local_send_window(container: Container) -> None:
    # 02:00 UTC is 21:00 the evening before in New York: the reminder waits for 09:00 local.
    build(container, dpd=10, stage="dpd_1_29", timezone="America/New_York", jurisdiction="US")
    build(container, dpd=10, stage="dpd_1_29", timezone="Asia/Shanghai")
    run_sweep(container)
    new_york, shanghai = outbox_rows(container)
    assert new_york.not_before == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert shanghai.not_before == container.clock.now()


def test_channel_choice_preferred_first_then_stage_order(container: Container) -> None:
    build(container, dpd=10, stage="dpd_1_29")  # dpd_1_29 lists telegram first
    build(container, dpd=10, stage="dpd_1_29", preferred="sms")
    build(container, dpd=-1, stage="pre_due")  # pre_due lists sms first
    run_sweep(container)
    assert [row.channel for row in outbox_rows(container)] == ["telegram", "sms", "sms"]


def test_opt_out_and_missing_consent_are_respected(container: Container) -> None:
    opted = build(container, dpd=10, stage="dpd_1_29")
    build(container, dpd=10, stage="dpd_1_29", channels=("sms",), consent=False)
    with transaction(container.session_factory) as session:
        holder_id = session.get_one(Account, opted).cardholder_id
        session.execute(update(ContactPoint).where(ContactPoint.cardholder_id == holder_id,
                                                   ContactPoint.channel == "telegram")
                        .values(opted_out_at=container.clock.now(), opted_out_method="keyword"))
    report = run_sweep(container)
    rows = outbox_rows(container)
    assert [(row.account_id, row.channel) for row in rows] == [(opted, "sms")]
    assert report.skipped["no_usable_contact"] == 1


def test_protected_paused_promised_and_planned_accounts_are_skipped(container: Container) -> None:
    now = container.clock.now()
    bankrupt, ceased, disputed, paused, promised, planned, normal = (
        build(container, dpd=10, stage="dpd_1_29") for _ in range(7))
    with transaction(container.session_factory) as session:
        for account_id, kind in ((bankrupt, "bankruptcy"), (ceased, "cease"), (disputed, "dispute")):
            holder_id = session.get_one(Account, account_id).cardholder_id
            set_state(session, cardholder_id=holder_id, kind=kind, set_by="officer", actor="officer:kim", at=now,
                      reason="test", pack=None)
        session.get_one(Account, paused).reminders_paused_reason = "installment_plan"
        session.add(Promise(account_id=promised, amount_minor=5_000, promised_date=now.date() + timedelta(days=3),
                            status="open", recorded_by="bot", created_at=now))
        session.add(InstallmentPlan(account_id=planned, status="active", term_months=3, total_minor=9_000,
                                    monthly_minor=3_000, proposed_by="bot", created_at=now, accepted_at=now))
    report = run_sweep(container)
    assert [row.account_id for row in outbox_rows(container)] == [normal]
    assert {k: v for k, v in report.skipped.items() if k.startswith("protective_state:")} == {
        "protective_state:bankruptcy": 1, "protective_state:cease": 1, "protective_state:dispute": 1}


def test_current_and_settled_accounts_get_no_reminder(container: Container) -> None:
    build(container, dpd=-10, stage="current")
    build(container, dpd=5, stage="settled", balance_minor=0, minimum_due_minor=0)
    assert run_sweep(container).planned == 0


def test_a_stage_the_staging_has_not_caught_up_with_is_left_for_it(container: Container) -> None:
    account_id = build(container, dpd=31, stage="dpd_1_29")  # stored stage is a day behind
    report = run_sweep(container)
    assert report.planned == 0 and report.skipped["stage_not_current"] == 1
    _restage(container, account_id, 31, "dpd_30_59")
    assert run_sweep(container).planned == 1


def test_unknown_timezone_still_plans_so_the_gate_records_the_block(container: Container) -> None:
    build(container, dpd=10, stage="dpd_1_29", timezone="Asia/Shanghai")
    with transaction(container.session_factory) as session:
        session.execute(update(Cardholder).values(timezone="Mars/Olympus_Mons"))
    run_sweep(container)
    (row,) = outbox_rows(container)
    assert row.not_before == container.clock.now()


def test_streamed_batches_cover_the_whole_portfolio(container: Container) -> None:
    # 100 + 20: on PostgreSQL the first batch goes through COPY, the second through INSERT ... VALUES.
    container.extras["scheduler_config"] = _with_batch(container, 100)
    for _ in range(120):
        build(container, dpd=10, stage="dpd_1_29")
    report = run_sweep(container)
    assert report.scanned == 120 and report.planned == 120 and outbox_count(container) == 120
    with transaction(container.session_factory) as session:
        session.execute(update(OutboxItem).values(status="sent"))
    again = run_sweep(container)
    assert again.planned == 0 and again.already_planned == 120 and outbox_count(container) == 120
    assert all(row.params["stage"] == "dpd_1_29" for row in outbox_rows(container))


def test_batches_written_while_others_are_planned_plan_every_account_once(container: Container) -> None:
    # 7 batches of 60: on PostgreSQL two are written at once on their own connections while the next is planned.
    container.extras["scheduler_config"] = _with_batch(container, 60)
    built = {build(container, dpd=10 + i % 15, stage="dpd_1_29") for i in range(400)}
    report = run_sweep(container)
    assert (report.scanned, report.planned, report.failed) == (400, 400, 0)
    rows = outbox_rows(container)
    assert sorted(row.account_id for row in rows) == sorted(built)
    assert len({row.idempotency_key for row in rows}) == 400
    again = run_sweep(container)
    assert (again.planned, again.already_planned, again.skipped["reminder_pending"]) == (0, 0, 400)


def _with_batch(container: Container, size: int) -> object:
    from scheduler.runtime import scheduler_config

    config = scheduler_config(container)
    return config.model_copy(update={"sweep": config.sweep.model_copy(update={"batch_size": size})})


def _mark_sent(container: Container, account_id: int, at: datetime) -> None:
    with transaction(container.session_factory) as session:
        session.execute(update(OutboxItem).values(status="sent"))
        account = session.get_one(Account, account_id)
        account.last_reminder_at = at
        account.touches_in_stage += 1


def _restage(container: Container, account_id: int, dpd: int, stage: str | None = None) -> None:
    with transaction(container.session_factory) as session:
        account = session.get_one(Account, account_id)
        account.days_past_due = dpd
        if stage:
            account.stage = stage
            account.stage_changed_at = container.clock.now()


def test_bulk_insert_keeps_one_row_per_key_even_when_a_batch_collides(container: Container) -> None:
    from core.enums import MessagePurpose
    from scheduler.outbox import insert_isolated, outbox_row

    account_id = build(container, dpd=10, stage="dpd_1_29")
    with container.session_factory() as session:
        holder_id = session.get_one(Account, account_id).cardholder_id
    now = container.clock.now()

    def row(key: str) -> tuple[object, ...]:
        return outbox_row(key=key, cardholder_id=holder_id, account_id=account_id, contact_point_id=None,
                          channel="sms", purpose=MessagePurpose.REMINDER, template_id="reminder.dpd_1_29",
                          language="en", params={"stage": "dpd_1_29"}, not_before=now, now=now)

    # 60 distinct keys plus one repeated inside the batch: on PostgreSQL the direct COPY hits the unique key and
    # the batch falls back to INSERT ... ON CONFLICT DO NOTHING; on SQLite that is the only path.
    batch = [row(f"k{i}") for i in range(60)] + [row("k7")]
    assert insert_isolated(container.engine, batch) == (60, 0)
    assert insert_isolated(container.engine, batch) == (0, 0)
    assert outbox_count(container) == 60
