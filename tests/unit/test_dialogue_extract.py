"""Amounts, month counts and dates from cardholders' words, resolved against their local today."""

from __future__ import annotations

from datetime import date

import pytest

from accord.dialogue.extract import extract, extract_amount, extract_date, extract_months

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("I can pay next Friday", "en", date(2026, 11, 27)),
        ("on the 15th", "en", date(2026, 12, 15)),  # the 15th has passed this month: the next one
        ("the 30th", "en", date(2026, 11, 30)),
        ("by December 3", "en", date(2026, 12, 3)),
        ("tomorrow", "en", date(2026, 11, 24)),
        ("in two weeks", "en", date(2026, 12, 7)),
        ("end of the month", "en", date(2026, 11, 30)),
        ("我下周五还", "zh", date(2026, 12, 4)),  # 下周五 is Friday of next week
        ("这周五", "zh", date(2026, 11, 27)),
        ("周三还三百", "zh", date(2026, 11, 25)),
        ("15号还两千块", "zh", date(2026, 12, 15)),
        ("下个月15号还一千", "zh", date(2026, 12, 15)),
        ("12月3号还150", "zh", date(2026, 12, 3)),
        ("明天", "zh", date(2026, 11, 24)),
        ("月底前还两千五", "zh", date(2026, 11, 30)),
    ],
)
def test_dates_resolve_against_local_today(text: str, lang: str, expected: date) -> None:
    assert extract_date(text, lang, MONDAY) == expected


def test_a_date_is_never_in_the_past() -> None:
    assert extract_date("the 1st", "en", date(2026, 11, 2)) == date(2026, 12, 1)
    assert extract_date("1号", "zh", date(2026, 12, 31)) == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("text", "lang", "currency", "minor"),
    [
        ("200 a month", "en", "USD", 20_000),
        ("I will pay $1,500.50 on December 3", "en", "USD", 150_050),
        ("tomorrow 80 pounds", "en", "GBP", 8_000),
        ("两千块", "zh", "CNY", 200_000),
        ("每个月还五百，分十二个月", "zh", "CNY", 50_000),
        ("15号还两千块", "zh", "CNY", 200_000),  # 15号 is a date, not an amount
        ("12月3号还150", "zh", "CNY", 15_000),
        ("¥300", "zh", "CNY", 30_000),
        ("no numbers here", "en", "USD", None),
    ],
)
def test_amounts_in_minor_units(text: str, lang: str, currency: str, minor: int | None) -> None:
    assert extract_amount(text, lang, currency) == minor


def test_amount_with_too_many_decimals_for_the_currency_is_not_guessed() -> None:
    assert extract_amount("100.5", "en", "JPY") is None


@pytest.mark.parametrize(
    ("text", "lang", "months"),
    [("三个月", "zh", 3), ("分十二个月", "zh", 12), ("over 6 months", "en", 6), ("200 a month", "en", None)],
)
def test_month_counts(text: str, lang: str, months: int | None) -> None:
    assert extract_months(text, lang) == months


def test_everything_at_once() -> None:
    found = extract("I can do 300 monthly over 6 months", "en", "USD", MONDAY)
    assert (found.amount_minor, found.months, found.date) == (30_000, 6, None)


def test_per_month_is_not_a_calendar_month() -> None:
    assert extract_amount("每月两千块", "zh", "CNY") == 200_000
    assert extract_amount("December 3 I pay 70", "en", "USD") == 7_000
