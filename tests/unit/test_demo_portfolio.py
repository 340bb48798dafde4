"""The demo portfolio: plausible, deterministic, every stage in both languages, and valid for the importer."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from accord.portfolio.demo import demo_rows
from accord.portfolio.importer import validate_rows
from accord.stage_config import load_stages
from core.delinquency import assess
from core.enums import Stage

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
RULES = load_stages(Path(__file__).resolve().parents[2] / "config").rules()


def test_demo_rows_pass_validation_and_cover_every_stage_in_both_languages() -> None:
    raw = demo_rows(NOW, RULES)
    rows, errors = validate_rows(raw, NOW.date())
    assert not errors and len(rows) == 200
    stages: dict[str, set[Stage]] = {"zh": set(), "en": set()}
    for row in rows:
        today = NOW.astimezone(ZoneInfo(row.timezone)).date()
        stages[row.language].add(assess(row.balance_minor, row.minimum_due_minor, row.due_date, today, RULES).stage)
    expected = {Stage.CURRENT, Stage.PRE_DUE, Stage.DPD_1_29, Stage.DPD_30_59, Stage.DPD_60_89, Stage.DPD_90_PLUS}
    assert stages == {"zh": expected, "en": expected}


def test_demo_population_matches_the_brief() -> None:
    rows, _ = validate_rows(demo_rows(NOW, RULES), NOW.date())
    chinese = [r for r in rows if r.language == "zh"]
    english = [r for r in rows if r.language == "en"]
    assert len(chinese) == len(english) == 100
    assert {(r.timezone, r.jurisdiction, r.currency) for r in chinese} == {("Asia/Shanghai", "CN", "CNY")}
    assert all(r.phone.startswith("+861") for r in chinese)
    jurisdictions = Counter(r.jurisdiction for r in english)
    assert jurisdictions["US"] > 60 and jurisdictions["US-MA"] > 5 and 0 < jurisdictions["UK"] < 15
    assert {r.timezone for r in english if r.jurisdiction == "US"} >= {
        "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix",
        "America/Anchorage", "Pacific/Honolulu"}
    # US numbers come from the 555-01XX block reserved for fiction.
    assert all(r.phone[5:10] == "55501" for r in english if r.phone.startswith("+1"))
    assert all(r.currency == "GBP" and r.timezone == "Europe/London" for r in english if r.jurisdiction == "UK")
    assert len({r.full_name for r in rows}) == 200
    assert 0.6 < sum(1 for r in rows if r.telegram_chat_id) / len(rows) < 0.95
    assert all(0 < r.minimum_due_minor <= r.balance_minor for r in rows)


def test_demo_rows_are_deterministic_for_a_given_clock() -> None:
    assert demo_rows(NOW, RULES) == demo_rows(NOW, RULES)
