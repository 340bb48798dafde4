"""Exact money: integer minor units plus an ISO 4217 code. Floats never enter."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel import Locale
from babel.numbers import (
    format_currency,
    get_currency_precision,
    get_decimal_symbol,
    get_group_symbol,
    is_currency,
)


class MoneyError(ValueError):
    pass


@cache  # babel resolves a locale name by scanning every locale it knows, on every call that is given a name
def babel_locale(name: str) -> Locale:
    return Locale.parse(name)


@cache  # babel scans its whole currency list on every call; an import asks once per row
def currency_exponent(currency: str) -> int:
    if not is_currency(currency):
        raise MoneyError(f"unknown ISO 4217 currency code {currency!r}")
    return int(get_currency_precision(currency))


def to_minor(amount: str | Decimal | int, currency: str) -> int:
    """Convert a decimal amount to integer minor units. More decimals than the currency has is an error."""
    if isinstance(amount, float):  # pragma: no cover - a programming error, not user input
        raise MoneyError("floats are not accepted for money")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"not a number: {amount!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not a finite amount: {amount!r}")
    exponent = currency_exponent(currency)
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more than {exponent} decimal places for {currency}")
    return int(scaled)


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    @classmethod
    def of(cls, amount: str | Decimal | int, currency: str) -> Money:
        return cls(to_minor(amount, currency), currency)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def times(self, factor: Decimal) -> Money:
        return Money(int((Decimal(self.minor) * factor).to_integral_value(ROUND_HALF_UP)), self.currency)

    def format(self, language: str) -> str:
        return format_money(self.minor, self.currency, "zh_CN" if language == "zh" else "en_US")

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")


def format_money(minor: int, currency: str, locale: str) -> str:
    """babel's standard currency format ("CN¥1,234.50", "US$1,234.50"), from a layout learnt once per currency
    and locale where babel's own answer can be reproduced: babel costs ~50 µs a call, and a reminder carries
    several amounts at dispatch rates of hundreds a second."""
    layout = _layout(currency, locale)
    if layout is None:
        return _babel_format(minor, currency, locale)
    return layout.apply(minor)


def _babel_format(minor: int, currency: str, locale: str) -> str:
    return format_currency(Money(minor, currency).amount, currency, locale=babel_locale(locale))


@dataclass(frozen=True, slots=True)
class _Layout:
    exponent: int
    group: str
    decimal: str
    prefix: tuple[str, str]  # (positive, negative)
    suffix: tuple[str, str]

    def apply(self, minor: int) -> str:
        whole, fraction = divmod(abs(minor), 10 ** self.exponent)
        number = f"{whole:,}".replace(",", self.group)
        if self.exponent:
            number += f"{self.decimal}{fraction:0{self.exponent}d}"
        sign = int(minor < 0)
        return f"{self.prefix[sign]}{number}{self.suffix[sign]}"


# Amounts the learnt layout must write exactly as babel does before it is trusted: grouping of every width,
# zero, fractions with leading zeros, and negatives.
_PROBES = (0, 1, 5, 99, 100, 1_234, 12_345, 123_456, 1_234_567, 98_765_432_109, -1, -123_456_789)


@cache
def _layout(currency: str, locale: str) -> _Layout | None:
    """The layout of babel's standard pattern for this currency and locale, or None where it is not the simple
    prefix, grouped-by-three number, suffix shape (then babel formats every amount itself)."""
    exponent = currency_exponent(currency)
    where = babel_locale(locale)
    group, decimal = get_group_symbol(where), get_decimal_symbol(where)
    one = "1" + (decimal + "0" * exponent if exponent else "")
    affixes = []
    for minor in (10 ** exponent, -(10 ** exponent)):
        before, found, after = _babel_format(minor, currency, locale).partition(one)
        if not found:
            return None
        affixes.append((before, after))
    layout = _Layout(exponent, group, decimal, (affixes[0][0], affixes[1][0]), (affixes[0][1], affixes[1][1]))
    if any(layout.apply(minor) != _babel_format(minor, currency, locale) for minor in _PROBES):
        return None
    return layout
