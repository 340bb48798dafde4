from __future__ import annotations

from datetime import date
from pathlib import Path

from accord.stage_config import load_stages
from core.enums import Stage
from core.staging import account_standing

RULES = load_stages(Path(__file__).resolve().parents[2] / "config").rules()
TODAY = date(2026, 11, 23)


def test_an_outstanding_minimum_stages_by_days_past_due() -> None:
    assert account_standing(date(2026, 11, 1), TODAY, 500_00, 50_00, RULES) == (22, Stage.DPD_1_29)
    assert account_standing(date(2026, 11, 25), TODAY, 500_00, 50_00, RULES) == (-2, Stage.PRE_DUE)
    assert account_standing(date(2026, 12, 20), TODAY, 500_00, 50_00, RULES) == (-27, Stage.CURRENT)


def test_nothing_due_is_current_whatever_the_old_due_date() -> None:
    assert account_standing(date(2026, 11, 10), TODAY, 500_00, 0, RULES) == (0, Stage.CURRENT)
    assert account_standing(date(2026, 11, 24), TODAY, 500_00, 0, RULES) == (-1, Stage.CURRENT)


def test_no_balance_is_settled() -> None:
    assert account_standing(date(2026, 8, 1), TODAY, 0, 0, RULES)[1] == Stage.SETTLED
