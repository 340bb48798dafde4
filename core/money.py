"""Exact money: integer minor units plus an ISO 4217 code. Floats never enter."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, is_currency


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
        return format_currency(self.amount, self.currency, locale=babel_locale("zh_CN" if language == "zh" else "en_US"))

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot combine {self.currency} with {other.currency}")
