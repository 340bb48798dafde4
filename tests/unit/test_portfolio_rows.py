"""Validation of single portfolio rows: every cell checked, every problem named, personal data never echoed."""

from __future__ import annotations

from datetime import date

import pytest

from accord.portfolio.csv_schema import ImportRow, validate_row

TODAY = date(2026, 11, 23)
GOOD = {
    "external_id": "CC-1", "full_name": "王芳", "phone": "+86 138 1234 5678", "telegram_chat_id": "734920118",
    "language": "zh", "timezone": "Asia/Shanghai", "jurisdiction": "CN", "product": "credit_card",
    "currency": "CNY", "balance": "12850.00", "minimum_due": "1285.5", "due_date": "2026-11-20",
    "sms_consent": "yes", "card_last4": "4417", "birth_year": "1986", "sms_consent_date": "", "preferred_channel": "",
    "vulnerability": "",
}


def check(**changes: str) -> ImportRow | list:
    return validate_row(7, {**GOOD, **changes}, TODAY)


def test_a_good_row_is_normalised() -> None:
    row = check(language="ZH", jurisdiction="cn", currency="cny")
    assert isinstance(row, ImportRow)
    assert row.phone == "+8613812345678"
    assert (row.balance_minor, row.minimum_due_minor) == (1_285_000, 128_550)
    assert (row.language, row.jurisdiction, row.currency) == ("zh", "CN", "CNY")
    assert row.consent_basis == "express_written" and row.preferred_channel == "telegram"


def test_a_national_number_takes_the_jurisdictions_country() -> None:
    row = check(phone="138 1234 5678")
    assert isinstance(row, ImportRow) and row.phone == "+8613812345678"
    us = check(phone="(212) 555-0142", jurisdiction="US-MA", currency="USD", timezone="America/New_York")
    assert isinstance(us, ImportRow) and us.phone == "+12125550142"


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("phone", "+86 123", "not a valid number"),
        ("phone", "+86 10 6552 9988", "not a mobile number"),
        ("phone", "call me", "not a phone number"),
        ("telegram_chat_id", "-100123", "group or channel"),
        ("telegram_chat_id", "12ab", "positive whole number"),
        ("timezone", "UTC+8", "not an IANA time zone"),
        ("timezone", "America/Honolulu", "not an IANA time zone"),
        ("currency", "RMB", "ISO 4217"),
        ("balance", "-1.00", "negative"),
        ("balance", "1,200.00", "thousands separators"),
        ("balance", "12.345", "more than 2 decimal places"),
        ("due_date", "2026/11/20", "YYYY-MM-DD"),
        ("due_date", "2026-02-30", "not a calendar date"),
        ("language", "fr", "not one of: zh, en"),
        ("jurisdiction", "HK", "not one of"),
        ("product", "auto_loan", "not one of"),
        ("sms_consent", "maybe", "yes/no"),
        ("sms_consent", "", "is blank"),
        ("card_last4", "44", "exactly four digits"),
        ("card_last4", "", "credit_card row needs"),
        ("birth_year", "2015", "between 1900 and 2008"),
        ("birth_year", "86", "four-digit year"),
        ("external_id", "CC 1/2", "letters, digits"),
        ("full_name", "", "is blank"),
        ("sms_consent_date", "2027-01-01", "in the future"),
        ("preferred_channel", "email", "not one of"),
        ("vulnerability", "frail", "driver 1 of 1 is not one of: health, life_event, resilience, capability"),
        ("vulnerability", "health;life event", "driver 2 of 2 is not one of"),
        ("vulnerability", "health;", "driver 2 of 2 is empty"),
        ("vulnerability", "health,resilience", "driver 1 of 1 is not one of"),
    ],
)
def test_each_bad_cell_is_named_with_its_reason(column: str, value: str, reason: str) -> None:
    errors = check(**{column: value})
    assert isinstance(errors, list) and len(errors) == 1
    assert (errors[0].line, errors[0].column) == (7, column)
    assert reason in errors[0].reason


def test_every_problem_in_a_row_is_reported_at_once() -> None:
    errors = check(phone="+86 123", currency="XYZ", due_date="soon", language="de")
    assert isinstance(errors, list)
    assert {e.column for e in errors} == {"phone", "currency", "due_date", "language"}


def test_minimum_due_above_the_balance_is_refused() -> None:
    errors = check(balance="100.00", minimum_due="150.00")
    assert isinstance(errors, list) and errors[0].column == "minimum_due"


def test_card_digits_are_optional_for_loans_and_consent_words_map_to_a_basis() -> None:
    loan = check(product="personal_loan", card_last4="", sms_consent="cardholder_agreement", telegram_chat_id="")
    assert isinstance(loan, ImportRow)
    assert loan.card_last4 is None and loan.consent_basis == "cardholder_agreement"
    assert loan.preferred_channel == "sms"
    refused = check(sms_consent="No")
    assert isinstance(refused, ImportRow) and refused.consent_basis is None


def test_telegram_cannot_be_preferred_without_a_chat() -> None:
    errors = check(telegram_chat_id="", preferred_channel="telegram")
    assert isinstance(errors, list) and errors[0].column == "preferred_channel"


def test_personal_data_is_not_echoed_in_reasons() -> None:
    for column, value in (("phone", "+86 138 0000"), ("card_last4", "44X7"), ("birth_year", "2019"),
                          ("telegram_chat_id", "99x42")):
        errors = check(**{column: value})
        assert isinstance(errors, list)
        assert all(value not in e.reason for e in errors), errors


def test_a_wrong_vulnerability_word_is_not_echoed() -> None:
    # What a bank types here may itself be health data; the reason points at the driver by position.
    errors = check(vulnerability="health|Cancer")
    assert isinstance(errors, list) and [(e.line, e.column) for e in errors] == [(7, "vulnerability")]
    assert "cancer" not in errors[0].reason.lower() and "driver 2 of 2" in errors[0].reason


@pytest.mark.parametrize(
    ("cell", "drivers"),
    [
        ("", ()),
        ("   ", ()),
        ("health", ("health",)),
        ("LIFE_EVENT", ("life_event",)),
        (" Resilience ; health ", ("health", "resilience")),
        ("capability|health;life_event", ("health", "life_event", "capability")),
        ("health|HEALTH", ("health",)),
    ],
)
def test_vulnerability_drivers_are_normalised(cell: str, drivers: tuple[str, ...]) -> None:
    # One order whatever the file's, so the same statement written differently re-imports as unchanged.
    row = check(vulnerability=cell)
    assert isinstance(row, ImportRow) and row.vulnerability == drivers


def test_the_vulnerability_column_may_be_absent() -> None:
    cells = {k: v for k, v in GOOD.items() if k != "vulnerability"}
    row = validate_row(7, cells, TODAY)
    assert isinstance(row, ImportRow) and row.vulnerability == ()
