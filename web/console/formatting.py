"""Money in and out of console forms: exact minor units, never floats."""

from __future__ import annotations

from core.money import Money, MoneyError, to_minor


def money_text(minor: int, currency: str, language: str) -> str:
    return Money(minor, currency).format(language)


def parse_amount(text: str, currency: str) -> int:
    """'1,200.50' -> 120050 (USD). A ValueError names the problem for the form."""
    cleaned = text.strip().replace(",", "").replace("，", "")
    if not cleaned:
        return 0
    try:
        return to_minor(cleaned, currency)
    except (MoneyError, ArithmeticError, ValueError) as exc:
        raise ValueError(f"amount {text!r} is not a valid {currency} amount") from exc
