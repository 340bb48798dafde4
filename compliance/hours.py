"""Contact hours and blackout days in the cardholder's own zone, and the next moment a message may go out.

Everything is computed from aware UTC instants with `zoneinfo`, so DST days (a 23- or 25-hour day) and a
cardholder far from the server come out right. A zone that cannot be resolved is reported as None: the gate
blocks then, it never guesses.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from compliance.packs import Blackouts, ContactHours

SEARCH_DAYS = 400  # a pack that blacks out every day for a year is a configuration mistake: block, never loop


@lru_cache(maxsize=2048)
def resolve_zone(name: str | None) -> ZoneInfo | None:
    if not name or not name.strip():
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def in_hours(local: datetime, hours: ContactHours) -> bool:
    wall = local.time().replace(tzinfo=None)
    return hours.start <= wall < hours.end


@lru_cache(maxsize=256)
def _holiday_table(country: str, subdivision: str | None, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision, years=year)


def _chinese_statutory_holiday(day: date) -> str | None:
    import chinese_calendar

    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        # The State Council publishes each year's arrangement late in the previous year; until the package
        # knows it, fall back to the fixed-date CN calendar of the `holidays` package.
        found = _holiday_table("CN", None, day.year).get(day)
        return f"{found} (holidays package; chinesecalendar has no {day.year} data)" if found else None
    # Ordinary weekends are "holidays" without a name; only named days are statutory holidays.
    return str(name) if on_holiday and name else None


def blackout_reason(day: date, blackouts: Blackouts) -> str | None:
    """Why `day` (a local date) is a blackout day under the pack, or None when it is not."""
    if blackouts.sundays and day.weekday() == 6:
        return "Sunday"
    if not blackouts.public_holidays:
        return None
    if blackouts.calendar == "chinesecalendar":
        return _chinese_statutory_holiday(day)
    name = _holiday_table(str(blackouts.country), blackouts.subdivision, day.year).get(day)
    return f"public holiday: {name}" if name else None


def local_opening(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) on local `day` whose wall-clock time is `at` or later.

    A wall time that a spring-forward jump skips does not exist; the first instant after it is the jump itself.
    """
    guess = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)  # fold=0: the earlier reading of an overlap
    local = guess.astimezone(tz)
    if local.date() == day and local.time().replace(tzinfo=None) == at:
        return guess
    # In a gap the guess lands after the jump; walk back to the jump (gaps are at most a few hours long).
    step = timedelta(minutes=1)
    while True:
        earlier = (guess - step).astimezone(tz)
        if earlier.date() != day or earlier.time().replace(tzinfo=None) < at:
            return guess
        guess -= step


def next_allowed(now: datetime, tz: ZoneInfo, hours: ContactHours, blackouts: Blackouts | None) -> datetime | None:
    """The earliest instant at or after `now` inside contact hours on a day that is not blacked out."""
    local = now.astimezone(tz)
    for offset in range(SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        if blackouts is not None and blackout_reason(day, blackouts):
            continue
        opening = local_opening(day, hours.start, tz)
        closing = local_opening(day, hours.end, tz)
        candidate = max(opening, now)
        if candidate < closing:
            return candidate
    return None


def describe_local(instant: datetime, tz: ZoneInfo) -> str:
    """ISO-8601 with the offset the cardholder's clock showed, e.g. 2026-03-08T08:00:00-04:00."""
    return instant.astimezone(tz).isoformat(timespec="seconds")
