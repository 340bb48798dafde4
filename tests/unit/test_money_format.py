"""Accord writes amounts from a layout learnt from babel once per currency and locale: it must write exactly
what babel writes, for any amount, or fall back to babel."""

from __future__ import annotations

from babel.numbers import list_currencies
from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import Money, _babel_format, _layout, currency_exponent, format_money

LOCALES = ("en_US", "zh_CN", "en_GB", "en_IN", "de_CH", "fr_FR")
CURRENCIES = sorted(c for c in list_currencies() if len(c) == 3)


@settings(max_examples=2000, deadline=None)
@given(minor=st.integers(min_value=-(10**15), max_value=10**15), currency=st.sampled_from(CURRENCIES),
       locale=st.sampled_from(LOCALES))
def test_any_amount_is_written_exactly_as_babel_writes_it(minor: int, currency: str, locale: str) -> None:
    assert format_money(minor, currency, locale) == _babel_format(minor, currency, locale)


def test_every_currency_and_locale_accord_speaks_uses_a_learnt_layout() -> None:
    for currency in ("CNY", "USD", "GBP", "EUR", "HKD", "JPY", "KWD"):
        for locale in ("en_US", "zh_CN"):
            assert _layout(currency, locale) is not None, (currency, locale)


def test_a_layout_babel_does_not_fit_falls_back_to_babel() -> None:
    assert _layout("INR", "en_IN") is None  # lakh grouping: 12,34,567.89
    assert format_money(123_456_789, "INR", "en_IN") == "₹12,34,567.89"


def test_money_is_written_in_the_message_language() -> None:
    assert Money(123_456, "CNY").format("zh") == "¥1,234.56"
    assert Money(123_456, "CNY").format("en") == "CN¥1,234.56"
    assert Money(-5, "USD").format("en") == "-$0.05"
    assert Money(1_000, "JPY").format("en") == "¥1,000" and currency_exponent("JPY") == 0
