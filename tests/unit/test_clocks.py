"""The clocks behind `--now`: frozen for one-off commands, running on from the given instant for workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.clock import FixedClock, RunningClock, parse_instant


def test_a_running_clock_starts_at_the_instant_and_moves_with_real_time() -> None:
    ticks = [100.0]
    clock = RunningClock(datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(hours=8))), lambda: ticks[0])
    assert clock.now() == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    ticks[0] += 2.5
    assert clock.now() == datetime(2026, 11, 23, 1, 0, 2, 500000, tzinfo=UTC)
    assert clock.now().tzinfo == UTC


def test_a_fixed_clock_only_moves_when_told() -> None:
    clock = FixedClock(parse_instant("2026-11-23T09:00:00+08:00"))
    assert clock.now() == clock.now() == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    clock.advance(timedelta(minutes=5))
    assert clock.now() == datetime(2026, 11, 23, 1, 5, tzinfo=UTC)


@pytest.mark.parametrize("naive", [datetime(2026, 11, 23, 9, 0)])
def test_clocks_refuse_a_naive_start(naive: datetime) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        RunningClock(naive)
    with pytest.raises(ValueError, match="naive datetime"):
        FixedClock(naive)
