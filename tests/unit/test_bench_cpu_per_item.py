"""The benchmarks' CPU accounting: CPU time per item, for this process and for the whole machine."""

from __future__ import annotations

import time

from bench.common import cpu_per_item


def test_busy_work_is_counted_per_item_and_sleeping_is_not() -> None:
    with cpu_per_item(10) as busy:
        ends = time.process_time() + 0.2
        while time.process_time() < ends:
            pass
    with cpu_per_item(10) as idle:
        time.sleep(0.2)
    assert 15 <= busy.process_ms <= 40  # 200 ms of CPU over 10 items, whatever the clock's granularity
    assert busy.machine_ms >= 10  # the machine was at least as busy as this process (counted in clock ticks)
    assert idle.process_ms < 5
