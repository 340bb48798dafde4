"""Negotiation within policy: options inside the stage's limits, counter-offers judged, schedules exact."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from accord.config_files import ConfigError
from accord.dialogue.config import NegotiationFile, load_negotiation
from core.negotiation import (
    NegotiationPolicy,
    StageLimits,
    add_months,
    evaluate_counter_offer,
    propose,
    schedule,
)

POLICY = NegotiationPolicy(
    stages={
        "dpd_1_29": StageLimits(max_term_months=3),
        "dpd_30_59": StageLimits(max_term_months=6, fee_waiver=True),
        "dpd_60_89": StageLimits(max_term_months=12, down_payment_bp=500, fee_waiver=True, interest_waiver=True),
        "dpd_90_plus": StageLimits(max_term_months=24, down_payment_bp=1000, fee_waiver=True, interest_waiver=True,
                                   settlement_discount_cap_bp=2000),
    },
    min_monthly_minor={"CNY": 10_000},
    waiver_reasons=frozenset({"job_loss", "illness"}),
    officer_balance_minor={"CNY": 30_000_000},
)


def _propose(stage: str, balance: int, affordable: int | None, reason: str | None = "job_loss") -> list:
    return propose(POLICY, balance_minor=balance, currency="CNY", stage=stage, reason=reason,
                   affordable_monthly_minor=affordable)


@pytest.mark.parametrize("stage", ["dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_plus"])
@pytest.mark.parametrize("affordable", [None, 5_000, 20_000, 100_000, 10_000_000])
def test_every_option_is_inside_the_stage_limits(stage: str, affordable: int | None) -> None:
    limits = POLICY.stages[stage]
    options = _propose(stage, 1_234_567, affordable)
    assert 2 <= len(options) <= 3
    for option in options:
        assert 1 <= option.term_months <= limits.max_term_months
        if option.kind == "installments":
            paid = option.down_payment_minor + option.monthly_minor * (option.term_months - 1) + option.last_minor
            assert paid == option.total_minor == 1_234_567  # exact to the minor unit
            assert 0 < option.last_minor <= option.monthly_minor
            assert option.monthly_minor >= 10_000


def test_the_first_option_fits_the_stated_budget_when_policy_allows() -> None:
    first = _propose("dpd_30_59", 600_000, 150_000)[0]
    assert first.monthly_minor <= 150_000 and first.term_months == 4


def test_settlement_only_at_90_plus_and_within_its_cap() -> None:
    assert all(o.kind != "settlement" for stage in ("dpd_1_29", "dpd_30_59", "dpd_60_89")
               for o in _propose(stage, 1_000_000, 50_000))
    settlement = [o for o in _propose("dpd_90_plus", 1_000_000, 50_000) if o.kind == "settlement"]
    assert len(settlement) == 1
    assert settlement[0].settlement_discount_bp <= 2000 and settlement[0].total_minor == 800_000


def test_waivers_follow_reason_and_stage() -> None:
    assert _propose("dpd_60_89", 500_000, 50_000)[0].interest_waived
    assert not _propose("dpd_60_89", 500_000, 50_000, reason="other")[0].fees_waived
    assert not _propose("dpd_1_29", 500_000, 50_000)[0].fees_waived


def test_down_payment_at_60_plus() -> None:
    assert _propose("dpd_60_89", 1_000_000, 100_000)[0].down_payment_minor == 50_000


def test_counter_offer_inside_limits_is_accepted() -> None:
    verdict = evaluate_counter_offer(POLICY, balance_minor=600_000, currency="CNY", stage="dpd_30_59",
                                     reason=None, monthly_minor=120_000, term_months=None)
    assert verdict.accepted and verdict.option is not None and verdict.option.term_months == 5


@pytest.mark.parametrize(
    ("monthly", "months", "reason"),
    [(50_000, None, "term_above_max"), (5_000, 3, "monthly_below_min"), (None, 12, "term_above_max"),
     (10_000, 3, "does_not_cover_balance")],
)
def test_counter_offer_outside_limits_says_why(monthly: int | None, months: int | None, reason: str) -> None:
    verdict = evaluate_counter_offer(POLICY, balance_minor=600_000, currency="CNY", stage="dpd_30_59",
                                     reason=None, monthly_minor=monthly, term_months=months)
    assert not verdict.accepted and reason in verdict.reasons


def test_officer_balance_threshold() -> None:
    assert POLICY.needs_officer(30_000_001, "CNY") and not POLICY.needs_officer(30_000_000, "CNY")


def test_schedule_dates_and_amounts() -> None:
    option = _propose("dpd_60_89", 1_000_000, 100_000)[0]
    rows = schedule(option, date(2027, 1, 31))
    assert rows[0] == (0, date(2027, 1, 31), 50_000)
    assert rows[1][1] == date(2027, 2, 28)  # clamped to the month's end
    assert sum(amount for _, _, amount in rows) == 1_000_000
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


def test_the_shipped_config_loads(config_dir: Path) -> None:
    policy = load_negotiation(config_dir).policy()
    assert policy.stages["dpd_90_plus"].settlement_discount_cap_bp > 0


def test_settlement_outside_90_plus_is_refused_in_config() -> None:
    with pytest.raises(ValueError, match="only allowed at dpd_90_plus"):
        NegotiationFile.model_validate({"version": "1", "stages": {
            "dpd_30_59": {"max_term_months": 6, "settlement_discount_cap_bp": 100}}, "min_monthly": {"CNY": "100"}})
    assert ConfigError  # the loader wraps the same error with the file name
