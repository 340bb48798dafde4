"""Parsers for single cells of the portfolio file. Each returns a normalised value or raises FieldError.

Reasons never repeat a cell that holds personal data (name, phone, chat id, card digits, birth year, anything
written in the vulnerability column): errors reach terminals and logs, and the line and column already point at
the cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import PhoneNumberType

from core.enums import Channel, ConsentBasis
from core.money import MoneyError, currency_exponent, to_minor
from core.protection import VulnerabilityDriver

TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0"})
# "yes" means the bank holds the cardholder's written consent to texts about the account.
CONSENT_FOR_YES = ConsentBasis.EXPRESS_WRITTEN
SMS_CONSENT_BASES = frozenset(b.value for b in ConsentBasis) - {ConsentBasis.CARDHOLDER_INITIATED.value}
# Numbers that can receive a text; fixed lines, toll-free and premium numbers cannot.
TEXTABLE = frozenset(
    {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.VOIP,
     PhoneNumberType.PERSONAL_NUMBER}
)
REGION_FOR = {"CN": "CN", "US": "US", "US-MA": "US", "UK": "GB"}
EXTERNAL_ID = re.compile(r"[A-Za-z0-9._:\-]{1,64}")
CHAT_ID = re.compile(r"[1-9][0-9]{0,15}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
LAST4 = YEAR = re.compile(r"\d{4}")
AMOUNT = re.compile(r"\d+(\.\d+)?")
ADULT_AGE = 18
OLDEST_BIRTH_YEAR = 1900
DRIVER_SEPARATORS = re.compile(r"[;|]")


class FieldError(ValueError):
    pass


def required(value: str) -> str:
    if not value:
        raise FieldError("is blank")
    return value


def external_id(value: str) -> str:
    if not EXTERNAL_ID.fullmatch(required(value)):
        raise FieldError(f"{value!r} must be 1-64 letters, digits or . _ - :")
    return value


def name(value: str) -> str:
    if len(required(value)) > 200:
        raise FieldError("is longer than 200 characters")
    if any(ch in value for ch in "\r\n\t"):
        raise FieldError("contains a line break or tab")
    return " ".join(value.split())


def phone(value: str, region: str | None) -> str:
    try:
        number = phonenumbers.parse(required(value), region)
    except phonenumbers.NumberParseException as exc:
        hint = "" if region else " (start it with + and the country code)"
        raise FieldError(f"is not a phone number: {exc.args[0]}{hint}") from None
    kind = phonenumbers.number_type(number)  # UNKNOWN exactly when is_valid_number() is False; half the work
    if kind == PhoneNumberType.UNKNOWN:
        raise FieldError(f"is not a valid number for country code +{number.country_code}")
    if kind not in TEXTABLE:
        raise FieldError("is not a mobile number, so it cannot receive text messages")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def chat_id(value: str) -> str | None:
    if not value:
        return None
    if value.startswith("-"):
        raise FieldError("is a group or channel chat; Accord writes only to the cardholder's private chat")
    if not CHAT_ID.fullmatch(value):
        raise FieldError("must be a positive whole number of at most 16 digits")
    return value


def enum(value: str, kind: type[StrEnum], normalise: Callable[[str], str]) -> str:
    normalised = normalise(required(value))
    if normalised not in _values(kind):
        raise FieldError(f"{value!r} is not one of: {', '.join(_values(kind))}")
    return normalised


@cache
def _values(kind: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in kind)


def channel(value: str) -> str | None:
    return enum(value, Channel, str.lower) if value else None


@cache
def _zone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def timezone(value: str) -> str:
    if _zone(required(value)) is None:
        raise FieldError(f"{value!r} is not an IANA time zone such as Asia/Shanghai or America/New_York")
    return value


@cache
def _exponent(code: str) -> int | None:
    try:
        return currency_exponent(code)
    except MoneyError:
        return None


def currency(value: str) -> str:
    code = required(value).upper()
    if len(code) != 3 or _exponent(code) is None:
        raise FieldError(f"{value!r} is not an ISO 4217 currency code")
    return code


def amount(value: str, currency: str) -> int:
    if not AMOUNT.fullmatch(required(value)):
        if value.startswith("-"):
            raise FieldError(f"{value!r} is negative; amounts cannot be below zero")
        raise FieldError(f"{value!r} must be digits with an optional decimal point "
                         "(no spaces, thousands separators or currency symbols)")
    try:
        return to_minor(value, currency)
    except MoneyError as exc:
        raise FieldError(str(exc)) from None


def iso_date(value: str) -> date:
    if not ISO_DATE.fullmatch(required(value)):
        raise FieldError(f"{value!r} is not a date written YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise FieldError(f"{value!r} is not a calendar date ({exc})") from None


def optional_past_date(value: str, today: date) -> date | None:
    if not value:
        return None
    day = iso_date(value)
    if day > today:
        raise FieldError(f"{value} is in the future")
    return day


def consent(value: str) -> str | None:
    word = required(value).lower()
    if word in TRUE_WORDS:
        return CONSENT_FOR_YES.value
    if word in FALSE_WORDS:
        return None
    if word in SMS_CONSENT_BASES:
        return word
    bases = ", ".join(sorted(SMS_CONSENT_BASES))
    raise FieldError(f"{value!r} is not yes/no/true/false/1/0 or a consent basis ({bases})")


def last4(value: str, required: bool) -> str | None:
    if not value and not required:
        return None
    if not value:
        raise FieldError("is blank; a credit_card row needs the card's last four digits")
    if not LAST4.fullmatch(value):
        raise FieldError("must be exactly four digits")
    return value


def birth_year(value: str, today: date) -> int:
    if not YEAR.fullmatch(required(value)):
        raise FieldError("must be a four-digit year")
    year = int(value)
    if not OLDEST_BIRTH_YEAR <= year <= today.year - ADULT_AGE:
        raise FieldError(f"must be between {OLDEST_BIRTH_YEAR} and {today.year - ADULT_AGE}")
    return year


def vulnerability_drivers(value: str) -> tuple[str, ...]:
    """FCA FG21/1 drivers, e.g. "Health; life_event". Blank: the file says nothing about vulnerability.

    Returned deduplicated in the enum's order, so "resilience|health" and "health;resilience" are the same
    statement and a re-import compares equal. A wrong word is named by position only: what a bank types here
    may itself be health data ("cancer"), so it is never echoed.
    """
    if not value:
        return ()
    parts = [part.strip().lower() for part in DRIVER_SEPARATORS.split(value)]
    known = _values(VulnerabilityDriver)
    for position, part in enumerate(parts, start=1):
        if not part:
            raise FieldError(f"driver {position} of {len(parts)} is empty (a doubled or trailing ; or |)")
        if part not in known:
            raise FieldError(f"driver {position} of {len(parts)} is not one of: {', '.join(known)}")
    return tuple(driver for driver in known if driver in parts)
