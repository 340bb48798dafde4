"""Contact hours in the cardholder's zone: boundaries, DST days, blackout days, the next allowed instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from compliance.hours import blackout_reason, in_hours, local_opening, next_allowed, resolve_zone
from compliance.packs import Blackouts, ContactHours

NY, SH = ZoneInfo("America/New_York"), ZoneInfo("Asia/Shanghai")
US_HOURS = ContactHours(start=time(8), end=time(21))
CN_HOURS = ContactHours(start=time(8), end=time(22))


@pytest.mark.parametrize(("wall", "us", "cn"), [
    (time(7, 59, 59), False, False),
    (time(8, 0, 0), True, True),
    (time(20, 59, 59), True, True),
    (time(21, 0, 0), False, True),
    (time(21, 59, 59), False, True),
    (time(22, 0, 0), False, False),
])
def test_boundaries(wall: time, us: bool, cn: bool) -> None:
    assert in_hours(datetime.combine(date(2026, 11, 23), wall, tzinfo=NY), US_HOURS) is us
    assert in_hours(datetime.combine(date(2026, 11, 23), wall, tzinfo=SH), CN_HOURS) is cn


def test_unknown_zones_are_not_guessed() -> None:
    assert resolve_zone("Mars/Olympus_Mons") is None
    assert resolve_zone("") is None and resolve_zone(None) is None
    assert resolve_zone("../etc/passwd") is None
    assert resolve_zone("Asia/Kolkata") == ZoneInfo("Asia/Kolkata")


def test_next_allowed_across_us_dst_start() -> None:
    # Saturday 21:30 EST (02:30Z) -> Sunday 2026-03-08 08:00 EDT, which is 12:00Z (the night lost an hour).
    now = datetime(2026, 3, 8, 2, 30, tzinfo=UTC)
    assert next_allowed(now, NY, US_HOURS, None) == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)
    # 07:59:59 EDT on the DST day itself: one second to wait.
    assert next_allowed(datetime(2026, 3, 8, 11, 59, 59, tzinfo=UTC), NY, US_HOURS, None) == datetime(
        2026, 3, 8, 12, 0, tzinfo=UTC)


def test_next_allowed_across_us_dst_end() -> None:
    # Saturday 21:30 EDT (01:30Z) -> Sunday 2026-11-01 08:00 EST, which is 13:00Z (the night gained an hour).
    now = datetime(2026, 11, 1, 1, 30, tzinfo=UTC)
    assert next_allowed(now, NY, US_HOURS, None) == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)


def test_opening_inside_a_spring_forward_gap_is_the_jump_itself() -> None:
    # 02:30 does not exist in New York on 2026-03-08: the first instant at or after it is 03:00 EDT (07:00Z).
    assert local_opening(date(2026, 3, 8), time(2, 30), NY) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    # 01:30 happens twice on 2026-11-01: the first one (EDT, 05:30Z) opens the window.
    assert local_opening(date(2026, 11, 1), time(1, 30), NY) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_half_hour_zone_far_from_the_server() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")
    now = datetime(2026, 11, 23, 2, 29, 59, tzinfo=UTC)  # 07:59:59 IST
    assert not in_hours(now.astimezone(kolkata), US_HOURS)
    assert next_allowed(now, kolkata, US_HOURS, None) == datetime(2026, 11, 23, 2, 30, tzinfo=UTC)


def test_blackouts_from_the_holiday_packages() -> None:
    uk = Blackouts(public_holidays=True, country="GB", subdivision="ENG")
    assert blackout_reason(date(2026, 12, 25), uk) == "public holiday: Christmas Day"
    assert blackout_reason(date(2026, 12, 23), uk) is None
    cn = Blackouts(public_holidays=True, calendar="chinesecalendar")
    assert blackout_reason(date(2026, 10, 1), cn)  # National Day
    assert blackout_reason(date(2026, 11, 22), cn) is None  # an ordinary Sunday is not a statutory holiday
    assert "holidays package" in (blackout_reason(date(2027, 10, 1), cn) or "")  # beyond chinesecalendar's data
    sundays = Blackouts(sundays=True)
    assert blackout_reason(date(2026, 11, 22), sundays) == "Sunday"


def test_next_allowed_skips_blackout_days() -> None:
    uk = Blackouts(public_holidays=True, country="GB", subdivision="ENG")
    london = ZoneInfo("Europe/London")
    # Christmas Eve 21:00 -> Christmas Day and Boxing Day (Saturday) are skipped; Sunday the 27th is open.
    assert next_allowed(datetime(2026, 12, 24, 21, 0, tzinfo=UTC), london, US_HOURS, uk) == datetime(
        2026, 12, 27, 8, 0, tzinfo=UTC)
    # Sunday 21:00 -> Monday 28th is Boxing Day (observed): Tuesday 08:00.
    assert next_allowed(datetime(2026, 12, 27, 21, 0, tzinfo=UTC), london, US_HOURS, uk) == datetime(
        2026, 12, 29, 8, 0, tzinfo=UTC)
