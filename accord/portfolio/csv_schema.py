"""The portfolio file's columns and the validation of one row.

Every cell is checked and every problem reported, so a bank fixes its export in one pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from accord.portfolio import fields
from accord.portfolio.errors import RowError
from core.enums import Channel, Jurisdiction, Language, Product


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    required: bool  # must appear in the header
    format: str
    example: str


COLUMNS: tuple[Column, ...] = (
    Column("external_id", True, "the bank's account reference, 1-64 of A-Z a-z 0-9 . _ - :", "CC-000123"),
    Column("full_name", True, "the cardholder's name as the bank holds it", "王芳"),
    Column("phone", True, "mobile number, E.164 or national for the jurisdiction's country", "+8613812345678"),
    Column("telegram_chat_id", True, "blank, or the cardholder's private Telegram chat id", "734920118"),
    Column("language", True, "zh or en", "zh"),
    Column("timezone", True, "IANA time zone", "Asia/Shanghai"),
    Column("jurisdiction", True, "CN, US, US-MA or UK", "CN"),
    Column("product", True, "credit_card, personal_loan or mortgage", "credit_card"),
    Column("currency", True, "ISO 4217 code", "CNY"),
    Column("balance", True, "amount owed, >= 0, at most the currency's decimals", "12850.00"),
    Column("minimum_due", True, "amount due now, >= 0 and <= balance", "1285.00"),
    Column("due_date", True, "YYYY-MM-DD", "2026-11-20"),
    Column("sms_consent", True, "yes/no (true/false, 1/0) or a consent basis", "yes"),
    Column("card_last4", True, "four digits; may be blank unless product is credit_card", "4417"),
    Column("birth_year", True, "four digits, the cardholder at least 18", "1986"),
    Column("sms_consent_date", False, "blank or YYYY-MM-DD: when consent was given", "2024-03-02"),
    Column("preferred_channel", False, "blank, sms or telegram", "telegram"),
    Column("vulnerability", False, "blank, or FCA FG21/1 drivers (health, life_event, resilience, capability) "
           "separated by ; or |", "health;life_event"),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
REQUIRED_COLUMNS = tuple(c.name for c in COLUMNS if c.required)


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One validated, normalised row: E.164 phone, minor units, enum values."""

    line: int
    external_id: str
    full_name: str
    phone: str
    telegram_chat_id: str | None
    language: str
    timezone: str
    jurisdiction: str
    product: str
    currency: str
    balance_minor: int
    minimum_due_minor: int
    due_date: date
    consent_basis: str | None
    consent_date: date | None
    card_last4: str | None
    birth_year: int
    preferred_channel: str
    vulnerability: tuple[str, ...]  # FG21/1 drivers; empty: the file says nothing (never "not vulnerable")


def header_errors(header: list[str]) -> list[RowError]:
    """Missing, unknown, blank and repeated column names, all at once."""
    errors = []
    seen: set[str] = set()
    for position, name in enumerate(header, start=1):
        if not name:
            errors.append(RowError(1, None, f"column {position} has no name"))
        elif name in seen:
            errors.append(RowError(1, name, "column appears more than once"))
        elif name not in COLUMN_NAMES:
            errors.append(RowError(1, name, f"unknown column; the columns are: {', '.join(COLUMN_NAMES)}"))
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            errors.append(RowError(1, name, "required column is missing"))
    return errors


def validate_row(line: int, cells: dict[str, str], today: date) -> ImportRow | list[RowError]:
    """Check every cell of one row; return the normalised row or every problem in it."""
    errors: list[RowError] = []

    def cell(name: str, check: Callable[..., Any], *args: Any) -> Any:
        try:
            return check(cells.get(name, "").strip(), *args)
        except fields.FieldError as exc:
            errors.append(RowError(line, name, str(exc)))
            return None

    jurisdiction = cell("jurisdiction", fields.enum, Jurisdiction, str.upper)
    product = cell("product", fields.enum, Product, str.lower)
    currency = cell("currency", fields.currency)
    balance = cell("balance", fields.amount, currency) if currency else None
    minimum_due = cell("minimum_due", fields.amount, currency) if currency else None
    if balance is not None and minimum_due is not None and minimum_due > balance:
        errors.append(RowError(line, "minimum_due", "is larger than the balance"))
    row = dict(
        external_id=cell("external_id", fields.external_id),
        full_name=cell("full_name", fields.name),
        phone=cell("phone", fields.phone, fields.REGION_FOR.get(jurisdiction or "")),
        telegram_chat_id=cell("telegram_chat_id", fields.chat_id),
        language=cell("language", fields.enum, Language, str.lower),
        timezone=cell("timezone", fields.timezone),
        due_date=cell("due_date", fields.iso_date),
        consent_basis=cell("sms_consent", fields.consent),
        consent_date=cell("sms_consent_date", fields.optional_past_date, today),
        card_last4=cell("card_last4", fields.last4, product == Product.CREDIT_CARD),
        birth_year=cell("birth_year", fields.birth_year, today),
        preferred_channel=cell("preferred_channel", fields.channel),
        vulnerability=cell("vulnerability", fields.vulnerability_drivers),
    )
    if errors:
        return errors
    if row["preferred_channel"] is None:
        row["preferred_channel"] = Channel.TELEGRAM.value if row["telegram_chat_id"] else Channel.SMS.value
    elif row["preferred_channel"] == Channel.TELEGRAM and not row["telegram_chat_id"]:
        return [RowError(line, "preferred_channel", "is telegram but telegram_chat_id is blank")]
    return ImportRow(line=line, jurisdiction=jurisdiction, product=product, currency=currency,
                     balance_minor=balance, minimum_due_minor=minimum_due, **row)  # type: ignore[arg-type]
