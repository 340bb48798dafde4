"""How template placeholders are written out: money by core.money, dates by babel, in the message's language."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from babel.dates import format_date

from core.money import Money, MoneyError, babel_locale

ParamType = Literal["money", "date", "int", "text", "url"]

# Placeholders the gate fills from what it already knows (institution, pack, cardholder, account); a caller's
# params of the same name take precedence.
CONTEXT_PARAM_TYPES: dict[str, ParamType] = {
    "sender": "text",
    "website": "text",
    "support_phone": "text",
    "help_resources": "text",
    "account_last4": "text",
    "amount_due": "money",
    "balance": "money",
    "due_date": "date",
    "days_past_due": "int",
}

LOCALES = {"zh": "zh_CN", "en": "en_US"}


class RenderError(ValueError):
    """A template could not be written out; the message names the placeholder and the problem."""


def format_value(name: str, value: Any, kind: ParamType, language: str, currency: str | None) -> str:
    if kind == "money":
        return _money(name, value, currency).format(language)
    if kind == "date":
        return format_date(_date(name, value), format="long", locale=babel_locale(LOCALES.get(language, "en_US")))
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise RenderError(f"parameter {name}: expected a whole number, got {value!r}")
        return str(value)
    if kind == "url":
        text = str(value)
        if not text.startswith(("https://", "http://")):
            raise RenderError(f"parameter {name}: expected an http(s) URL, got {text[:40]!r}")
        return text
    if not isinstance(value, str):
        raise RenderError(f"parameter {name}: expected text, got {type(value).__name__}")
    return value


def _money(name: str, value: Any, currency: str | None) -> Money:
    """Money, {"minor": int, "currency": "USD"} (JSON from the outbox), or integer minor units in the account's
    currency. Floats are refused: money is never a float."""
    if isinstance(value, Money):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("minor"), int) and isinstance(value.get("currency"), str):
        try:
            return Money(int(value["minor"]), str(value["currency"]))
        except MoneyError as exc:  # pragma: no cover - Money validates lazily
            raise RenderError(f"parameter {name}: {exc}") from exc
    if isinstance(value, int) and not isinstance(value, bool) and currency:
        return Money(value, currency)
    raise RenderError(f"parameter {name}: expected money (minor units and currency), got {value!r}")


def _date(name: str, value: Any) -> date:
    if isinstance(value, datetime):
        raise RenderError(f"parameter {name}: expected a date, got a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise RenderError(f"parameter {name}: {value!r} is not an ISO date (YYYY-MM-DD)") from exc
    raise RenderError(f"parameter {name}: expected a date, got {value!r}")
