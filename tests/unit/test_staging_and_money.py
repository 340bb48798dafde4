from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from accord.config_files import ConfigError
from accord.stage_config import load_stages
from core.enums import Stage, Tone
from core.money import Money, MoneyError, to_minor
from core.staging import days_past_due, stage_name

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.mark.parametrize(
    ("dpd", "stage"),
    [(-10, Stage.CURRENT), (-3, Stage.PRE_DUE), (0, Stage.PRE_DUE), (1, Stage.DPD_1_29), (29, Stage.DPD_1_29),
     (30, Stage.DPD_30_59), (59, Stage.DPD_30_59), (60, Stage.DPD_60_89), (89, Stage.DPD_60_89),
     (90, Stage.DPD_90_PLUS), (400, Stage.DPD_90_PLUS)],
)
def test_default_stage_bands(dpd: int, stage: Stage) -> None:
    rules = load_stages(CONFIG).rules()
    assert stage_name(dpd, 10_000, rules) == stage


def test_tones_grade_with_stage() -> None:
    tones = [r.tone for r in load_stages(CONFIG).rules()]
    assert tones == [Tone.GENTLE, Tone.GENTLE, Tone.FIRM, Tone.SERIOUS, Tone.FINAL]


def test_paid_off_account_is_settled() -> None:
    assert stage_name(45, 0, load_stages(CONFIG).rules()) == Stage.SETTLED


def test_days_past_due() -> None:
    assert days_past_due(date(2026, 11, 1), date(2026, 11, 22), 5000) == 21
    assert days_past_due(date(2026, 11, 25), date(2026, 11, 22), 5000) == -3
    assert days_past_due(date(2026, 11, 1), date(2026, 11, 22), 0) == 0


def test_money_is_exact() -> None:
    assert to_minor("1234.56", "USD") == 123456
    assert to_minor("1200", "JPY") == 1200
    assert Money.of("0.10", "USD") + Money.of("0.20", "USD") == Money.of("0.30", "USD")
    assert Money.of("12.5", "CNY").amount == Decimal("12.50")
    with pytest.raises(MoneyError, match="decimal places"):
        to_minor("1.005", "USD")
    with pytest.raises(MoneyError, match="ISO 4217"):
        to_minor("1", "XYZ")


def test_broken_stage_file_names_file_key_and_reason(tmp_path: Path) -> None:
    (tmp_path / "stages.yaml").write_text(
        "version: '1'\nstages:\n  - stage: pre_due\n    label: {en: a, zh: b}\n    min_dpd: 0\n"
        "    tone: loud\n    cadence: {every_days: 0}\n    channels: [sms]\n"
    )
    with pytest.raises(ConfigError) as err:
        load_stages(tmp_path)
    message = str(err.value)
    assert "stages.yaml" in message and "stages.0.tone" in message and "stages.0.cadence.every_days" in message
