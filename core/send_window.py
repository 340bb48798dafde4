"""The earliest moment a planned message should go out: inside the local send window, never before now.

Times are computed in the cardholder's IANA zone, so DST days and cardholders far from the server land right.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo | None:
    """The zone, or None when the name is not a known IANA zone (the gate then blocks: never guessed)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_date(instant: datetime, tz: ZoneInfo | None) -> date:
    return instant.astimezone(tz or UTC).date()


def earliest_send(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime:
    """`now` when local time is within [start, end), else the next local `start`, as aware UTC."""
    local = now.astimezone(tz)
    if start <= local.time().replace(tzinfo=None) < end:
        return now
    day = local.date() if local.time().replace(tzinfo=None) < start else local.date() + timedelta(days=1)
    opening = _local_instant(day, start, tz)
    return opening if opening > now else now


def _local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """`day` at `at` in `tz`. A wall time skipped by a spring-forward jump lands just after the jump
    (02:30 on the skipped night becomes 03:30), never before the window opens."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
