"""The reminder engine's pure rules: cadence, channel choice, send windows, payments, follow-ups, retry timing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from accord.stage_config import load_stages
from core.cadence import TouchState, reminder_key, reminder_slot, touch_due
from core.contact_choice import ContactOption, choose_contact
from core.delinquency import Balances, apply_payment, assess, brought_current
from core.enums import Channel, InstallmentStatus, PromiseStatus, Stage
from core.followups import (
    InstallmentChange,
    InstallmentView,
    installment_changes,
    installment_reminder_due,
    promise_follow_up_due,
    promise_outcome,
)
from core.rate_limit import TokenBucket
from core.retry import Backoff
from core.send_window import earliest_send, zone
from scheduler.config import load_scheduler_config

CONFIG = Path(__file__).resolve().parents[2] / "config"
RULES = load_stages(CONFIG).rules()
BY_STAGE = {rule.stage: rule for rule in RULES}
TODAY = date(2026, 11, 23)
AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def state(dpd: int, touches: int = 0, last: datetime | None = None, changed: datetime | None = None) -> TouchState:
    return TouchState(dpd, touches, last.date() if last else None, last, changed)


# -- cadence -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("dpd", "slot"), [(1, 0), (7, 0), (8, 1), (29, 4), (0, None), (30, None)])
def test_slots_cut_the_stage_band_by_every_days(dpd: int, slot: int | None) -> None:
    assert reminder_slot(BY_STAGE[Stage.DPD_1_29], dpd) == slot  # every 7 days from dpd 1


def test_max_touches_ends_the_slots() -> None:
    final = BY_STAGE[Stage.DPD_90_PLUS]  # every 14 days, at most 2
    assert [reminder_slot(final, d) for d in (90, 103, 104, 117, 118)] == [0, 0, 1, 1, None]
    assert touch_due(final, state(95, touches=2), TODAY, 1) is None


def test_never_reminded_account_is_due_in_its_slot() -> None:
    assert touch_due(BY_STAGE[Stage.DPD_30_59], state(37), TODAY, 1) == 1


def test_at_least_every_days_between_two_reminders_in_one_stage() -> None:
    rule = BY_STAGE[Stage.DPD_1_29]
    changed = AT - timedelta(days=20)
    sent_3_days_ago = AT - timedelta(days=3)
    assert touch_due(rule, state(15, 1, sent_3_days_ago, changed), TODAY, 1) is None
    sent_7_days_ago = AT - timedelta(days=7)
    assert touch_due(rule, state(15, 1, sent_7_days_ago, changed), TODAY, 1) == 2


def test_a_new_stage_may_speak_the_day_after_the_last_reminder() -> None:
    rule = BY_STAGE[Stage.DPD_30_59]
    last = AT - timedelta(days=1)
    changed = AT - timedelta(hours=3)  # the stage changed after the last reminder went out
    assert touch_due(rule, state(30, 0, last, changed), TODAY, 1) == 0
    assert touch_due(rule, state(30, 0, AT, changed), TODAY, 1) is None  # but never twice a day


def test_reminder_key_names_account_due_date_stage_and_slot() -> None:
    assert reminder_key(7, date(2026, 11, 1), "dpd_1_29", 2) == "reminder:7:2026-11-01:dpd_1_29:2"


# -- channel choice ------------------------------------------------------------------------------------------------

def option(cp_id: int, channel: Channel, *, preferred: bool = False, consent: bool = True, opted_out: bool = False,
           status: str = "active") -> ContactOption:
    return ContactOption(cp_id, channel, preferred, consent, opted_out, status, True)


NEEDS_CONSENT = frozenset({Channel.SMS, Channel.TELEGRAM})


def test_stage_channel_order_decides_without_a_preference() -> None:
    options = [option(1, Channel.SMS), option(2, Channel.TELEGRAM)]
    assert choose_contact(options, (Channel.TELEGRAM, Channel.SMS), NEEDS_CONSENT).contact_point_id == 2
    assert choose_contact(options, (Channel.SMS, Channel.TELEGRAM), NEEDS_CONSENT).contact_point_id == 1


def test_preferred_channel_comes_first() -> None:
    options = [option(1, Channel.SMS, preferred=True), option(2, Channel.TELEGRAM)]
    assert choose_contact(options, (Channel.TELEGRAM, Channel.SMS), NEEDS_CONSENT).contact_point_id == 1


@pytest.mark.parametrize("bad", [{"opted_out": True}, {"consent": False}, {"status": "invalid"}, {"status": "review"}])
def test_unusable_contact_points_are_never_chosen(bad: dict[str, object]) -> None:
    options = [option(1, Channel.TELEGRAM, preferred=True, **bad), option(2, Channel.SMS)]  # type: ignore[arg-type]
    assert choose_contact(options, (Channel.TELEGRAM, Channel.SMS), NEEDS_CONSENT).contact_point_id == 2
    assert choose_contact(options[:1], (Channel.TELEGRAM, Channel.SMS), NEEDS_CONSENT) is None


def test_a_channel_outside_the_stage_list_is_not_used() -> None:
    assert choose_contact([option(1, Channel.SMS)], (Channel.TELEGRAM,), NEEDS_CONSENT) is None


# -- send window ---------------------------------------------------------------------------------------------------

WINDOW = (time(9), time(20))


def test_inside_the_window_sends_now() -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    assert earliest_send(now, ZoneInfo("Asia/Shanghai"), *WINDOW) == now


def test_before_the_window_waits_for_the_local_opening() -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 21:00 on the 22nd in New York
    opening = earliest_send(now, ZoneInfo("America/New_York"), *WINDOW)
    assert opening == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # 09:00 EST


def test_window_across_the_us_dst_change() -> None:
    # 2026-03-08: clocks go forward in New York. 09:00 EDT that morning is 13:00 UTC, not 14:00.
    now = datetime(2026, 3, 8, 6, 0, tzinfo=UTC)
    assert earliest_send(now, ZoneInfo("America/New_York"), *WINDOW) == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)
    # A window opening inside the skipped hour lands after the jump, never before it.
    opening = earliest_send(now, ZoneInfo("America/New_York"), time(2, 30), time(20))
    assert opening.astimezone(ZoneInfo("America/New_York")).hour == 3


def test_unknown_zone_is_not_guessed() -> None:
    assert zone("Mars/Olympus_Mons") is None
    assert zone("Asia/Shanghai") == ZoneInfo("Asia/Shanghai")


# -- staging and payments ------------------------------------------------------------------------------------------

def test_paying_the_minimum_makes_the_account_current_even_inside_the_pre_due_window() -> None:
    assert assess(50_000, 5_000, date(2026, 11, 24), TODAY, RULES).stage == Stage.PRE_DUE
    after = apply_payment(Balances(50_000, 5_000), 5_000)
    assert after == Balances(45_000, 0)
    assert assess(after.balance_minor, after.minimum_due_minor, date(2026, 11, 24), TODAY, RULES).stage == Stage.CURRENT
    assert brought_current(Stage.PRE_DUE, Stage.CURRENT)


def test_partial_payment_keeps_the_account_delinquent() -> None:
    after = apply_payment(Balances(50_000, 5_000), 2_000)
    standing = assess(after.balance_minor, after.minimum_due_minor, date(2026, 10, 1), TODAY, RULES)
    assert standing.stage == Stage.DPD_30_59 and standing.days_past_due == 53


def test_paid_off_is_settled_and_overpayment_floors_at_zero() -> None:
    after = apply_payment(Balances(3_000, 3_000), 9_999)
    assert after == Balances(0, 0)
    assert assess(0, 0, date(2026, 10, 1), TODAY, RULES).stage == Stage.SETTLED
    assert brought_current("dpd_60_89", "settled") and not brought_current("current", "settled")
    with pytest.raises(ValueError, match="positive"):
        apply_payment(Balances(1, 1), 0)


# -- follow-ups ----------------------------------------------------------------------------------------------------

def test_promise_follow_up_the_day_before_and_on_the_day() -> None:
    promised = date(2026, 11, 25)
    assert [promise_follow_up_due(promised, d, 1) for d in
            (date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26))] == [
        False, True, True, False]


def test_promise_kept_when_paid_broken_after_grace() -> None:
    promised = date(2026, 11, 20)
    assert promise_outcome(10_000, 10_000, promised, date(2026, 11, 21), 2) is PromiseStatus.KEPT
    assert promise_outcome(10_000, 9_999, promised, date(2026, 11, 22), 2) is None
    assert promise_outcome(10_000, 9_999, promised, date(2026, 11, 23), 2) is PromiseStatus.BROKEN


def test_installments_are_paid_in_order_and_missed_after_grace() -> None:
    plan = [InstallmentView(i, i, date(2026, 10 + i, 1), 10_000, InstallmentStatus.SCHEDULED) for i in (1, 2)]
    changes = installment_changes(plan, 10_000, date(2026, 12, 5), 3)
    assert changes == {1: InstallmentChange.PAID, 2: InstallmentChange.MISSED}
    assert installment_changes(plan, 10_000, date(2026, 12, 4), 3) == {1: InstallmentChange.PAID}
    assert installment_reminder_due(date(2026, 12, 1), date(2026, 11, 28), 3)
    assert not installment_reminder_due(date(2026, 12, 1), date(2026, 11, 27), 3)


# -- retry timing and rate limits ----------------------------------------------------------------------------------

def test_backoff_grows_exponentially_within_its_jitter_and_cap() -> None:
    backoff = Backoff(base_s=30, factor=2, max_s=600, jitter=0.2)
    assert backoff.delay(1, 0.5) == 30
    assert backoff.delay(3, 0.0) == pytest.approx(120 * 0.8)
    assert backoff.delay(3, 0.999) == pytest.approx(120 * 1.2, rel=1e-3)
    assert backoff.delay(10, 0.5) == 600
    assert backoff.delay(1, 0.5, retry_after_s=90) == 90  # a provider's Retry-After is a floor


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket.full(rate=2.0, burst=2.0, at=0.0)
    assert bucket.take(0.0, 5) == 2
    assert bucket.take(0.0) == 0
    assert bucket.wait_for(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 1
    assert bucket.take(10.0, 10) == 2  # never more than the burst


def test_scheduler_config_loads() -> None:
    config = load_scheduler_config(CONFIG)
    assert config.limits_for("telegram").per_recipient_per_s == 1
    assert config.limits_for("unknown-provider").per_sender_per_s is None


def test_slots_count_from_stage_entry_when_the_account_arrived_late() -> None:
    final = BY_STAGE[Stage.DPD_90_PLUS]
    assert reminder_slot(final, 200) is None  # counted from dpd 90, both touches would be long gone
    entered = TouchState(200, 0, None, None, AT, TODAY)
    assert touch_due(final, entered, TODAY, 1) == 0
    later = TouchState(214, 1, TODAY, AT, AT, TODAY)
    assert touch_due(final, later, TODAY + timedelta(days=14), 1) == 1


def test_assess_agrees_with_account_standing() -> None:
    from core.staging import account_standing

    for dpd in range(-10, 200, 3):
        for balance, minimum in ((50_000, 5_000), (50_000, 0), (0, 0)):
            due = TODAY - timedelta(days=dpd)
            standing = assess(balance, minimum, due, TODAY, RULES)
            assert (standing.days_past_due, standing.stage) == account_standing(due, TODAY, balance, minimum, RULES) \
                or standing.stage == Stage.SETTLED
