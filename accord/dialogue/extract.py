"""Amounts, month counts and dates from a cardholder's own words, in Chinese or English.

Numerals go through `cn2an` (两千块 -> 2000块, 三个月 -> 3个月) and dates through `dateparser`, resolved
against the cardholder's LOCAL today, which the caller passes in (time is an input). Two idioms that
dateparser does not read correctly are handled here with small tables: a bare day of the month ("the 15th",
15号, which means the next such day, never a past one) and Chinese "next week's <weekday>" (下周五). Rasa may
mark the spans, but the values are always resolved here.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

import cn2an
from dateparser.search import search_dates

from core.money import MoneyError, to_minor

# Number tokens after cn2an: 1,500 / 1500.50 / 2000. Digit grouping commas are dropped before Decimal.
_NUMBER = re.compile(r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
_MONTHS_AFTER = re.compile(r"^\s*(?:个月|個月|期|months?\b|mos?\b)", re.IGNORECASE)
_MONTH_NAME_AFTER = re.compile(r"^\s*月")  # 12月: a calendar month, not an amount
_DAY_AFTER = re.compile(r"^\s*(?:号|號|日|st\b|nd\b|rd\b|th\b)", re.IGNORECASE)
_YEAR_AFTER = re.compile(r"^\s*年")
# "12月3号" or "December 3": the number is a day. 每月 (per month) is not a month name.
_MONTH_BEFORE = re.compile(r"(?:\d\s*月|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?)\s*$",
                           re.IGNORECASE)
_MONEY_CUE_AFTER = re.compile(r"^\s*(?:元|块|塊|rmb|cny|usd|gbp|dollars?|bucks|pounds?|quid|a month|per month|"
                              r"monthly|each month|every month|/month|/mo)", re.IGNORECASE)
_MONEY_CUE_BEFORE = re.compile(r"(?:[$£¥￥]|rmb|cny|usd|gbp|每月|每个月|一个月|月还|月供)\s*$", re.IGNORECASE)

_ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_ZH_NEXT_WEEK = re.compile(r"下(?:个)?(?:周|星期|礼拜|禮拜)([一二三四五六日天])")
_ZH_THIS_WEEK = re.compile(r"(?:这|這|本)(?:个)?(?:周|星期|礼拜|禮拜)([一二三四五六日天])")
_DAY_OF_MONTH = re.compile(r"(?:(\d{1,2})\s*月\s*)?(\d{1,2})\s*(?:号|號|日)|\bthe\s+(\d{1,2})(?:st|nd|rd|th)?\b|"
                           r"\b(\d{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE)
_ZH_BARE_WEEKDAY = re.compile(r"(?:周|星期|礼拜|禮拜)([一二三四五六日天])")
# Spans that are money or month counts, removed before dateparser reads "a month" or "3个月" as a date.
_NOT_DATES = [
    re.compile(r"\d[\d,]*(?:\.\d+)?\s*(?:个月|個月|期|months?\b|mos?\b)", re.IGNORECASE),
    re.compile(r"[$£¥￥]\s*\d[\d,]*(?:\.\d+)?"),
    re.compile(r"\d[\d,]*(?:\.\d+)?\s*(?:元|块|塊|dollars?\b|bucks\b|pounds?\b|quid\b)", re.IGNORECASE),
    re.compile(r"\b(?:a|per|each|every) month\b|\bmonthly\b|每个月|每月", re.IGNORECASE),
]
_MONTH_END = re.compile(r"月底|月末|end of (?:the |this )?month", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Extracted:
    amount_minor: int | None
    months: int | None
    date: date | None


def normalise(text: str, language: str) -> str:
    """Chinese numerals to digits; full-width characters to ASCII. English text is only width-normalised."""
    text = text.translate({0xFF10 + i: ord("0") + i for i in range(10)} | {0xFF0C: ord(","), 0xFF0E: ord(".")})
    if language == "zh" or re.search(r"[\u4e00-\u9fff]", text):
        try:
            text = cn2an.transform(text, "cn2an")
        except (ValueError, KeyError):  # cn2an refuses some mixed strings; digits already present still work
            pass
    return text


def _numbers(text: str) -> list[tuple[Decimal, int, int]]:
    found = []
    for match in _NUMBER.finditer(text):
        whole, frac = match.group(1).replace(",", ""), match.group(2)
        try:
            value = Decimal(f"{whole}.{frac}" if frac else whole)
        except InvalidOperation:  # pragma: no cover - the pattern only matches digits
            continue
        found.append((value, match.start(), match.end()))
    return found


def _without_weekdays(text: str) -> str:
    # cn2an would turn 周五 into 周5; weekday phrases are read by extract_date from the raw text instead.
    return _ZH_THIS_WEEK.sub(" ", _ZH_NEXT_WEEK.sub(" ", _ZH_BARE_WEEKDAY.sub(" ", text)))


def extract_months(text: str, language: str) -> int | None:
    norm = normalise(_without_weekdays(text), language)
    for value, _start, end in _numbers(norm):
        if _MONTHS_AFTER.match(norm[end:]) and value == value.to_integral_value() and 0 < value <= 120:
            return int(value)
    return None


def extract_amount(text: str, language: str, currency: str) -> int | None:
    """The money amount in the text, in minor units; numbers that are dates, years or month counts are skipped."""
    norm = normalise(_without_weekdays(text), language)
    plain: list[Decimal] = []
    for value, start, end in _numbers(norm):
        after, before = norm[end:], norm[:start]
        if any(p.match(after) for p in (_MONTHS_AFTER, _DAY_AFTER, _YEAR_AFTER, _MONTH_NAME_AFTER)):
            continue
        if _MONTH_BEFORE.search(before):
            continue
        if _MONEY_CUE_BEFORE.search(before) or _MONEY_CUE_AFTER.match(after):
            return _minor(value, currency)
        plain.append(value)
    return _minor(plain[0], currency) if plain else None


def _minor(value: Decimal, currency: str) -> int | None:
    try:
        return to_minor(value, currency)
    except MoneyError:
        return None


def _next_day_of_month(day: int, today: date, month: int | None = None) -> date | None:
    """The next date with this day of the month (today counts), or this month/day in the coming year."""
    if month is not None:
        for year in (today.year, today.year + 1):
            if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today:
                return date(year, month, day)
        return None
    year, mon = today.year, today.month
    for _ in range(13):
        if day <= calendar.monthrange(year, mon)[1] and date(year, mon, day) >= today:
            return date(year, mon, day)
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return None


def extract_date(text: str, language: str, today: date) -> date | None:
    """The date the cardholder means, never before `today` (their local date)."""
    if match := _ZH_NEXT_WEEK.search(text):
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return monday + timedelta(days=_ZH_WEEKDAY[match.group(1)])
    if match := _ZH_THIS_WEEK.search(text) or _ZH_BARE_WEEKDAY.search(text):
        target = today - timedelta(days=today.weekday()) + timedelta(days=_ZH_WEEKDAY[match.group(1)])
        return target if target >= today else target + timedelta(days=7)
    norm = normalise(text, language)
    for pattern in _NOT_DATES:
        norm = pattern.sub(" ", norm)
    if _MONTH_END.search(norm):
        return date(today.year, today.month, calendar.monthrange(today.year, today.month)[1])
    if match := _DAY_OF_MONTH.search(norm):
        month = int(match.group(1)) if match.group(1) else None
        day = int(match.group(2) or match.group(3) or match.group(4))
        if 1 <= day <= 31 and (month is None or 1 <= month <= 12):
            return _next_day_of_month(day, today, month)
    base = datetime(today.year, today.month, today.day, 12, 0)  # noqa: DTZ001 - dateparser wants a naive local base
    languages = ["zh", "en"] if language == "zh" else ["en"]
    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False}
    found = search_dates(norm, languages=languages, settings=settings)
    for _phrase, value in found or []:
        if today <= value.date() <= today + timedelta(days=400):
            return value.date()
    return None


def extract(text: str, language: str, currency: str, today: date) -> Extracted:
    return Extracted(
        amount_minor=extract_amount(text, language, currency),
        months=extract_months(text, language),
        date=extract_date(text, language, today),
    )
