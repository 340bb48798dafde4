"""One reminder sweep in a process of its own, so its peak RSS is the sweep's alone.

`python -m bench.sweep_child DATABASE_URL [--profile FILE]` prints one JSON line: seconds, report, peak_rss_mb.

The peak is the process's own high-water mark (VmHWM). getrusage's ru_maxrss is not: Linux carries the
parent's peak into a child started with fork or vfork, so after `make bench` has run its other modules in the
parent, every sweep would report the parent's size (691 MB where the sweep's own peak was about 120 MB).
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time

from accord.bootstrap import bootstrap
from accord.settings import Settings
from bench.synthetic import NOW
from core.clock import FixedClock
from scheduler.sweep import run_sweep


def main(argv: list[str]) -> None:
    url = argv[0]
    profile = argv[argv.index("--profile") + 1] if "--profile" in argv else None
    settings = Settings(accord_env="test", database_url=url, accord_log_level="WARNING",  # type: ignore[call-arg]
                        _env_file=None)
    container = bootstrap(settings, clock=FixedClock(NOW))
    logging.getLogger().setLevel(logging.WARNING)
    before = _peak_rss_mb()
    profiler = None
    if profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    started = time.perf_counter()
    report = run_sweep(container)
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.stop()
        with open(profile, "w", encoding="utf-8") as out:
            out.write(profiler.output_text(unicode=False, color=False))
    container.close()
    peak = _peak_rss_mb()
    print(json.dumps({"seconds": seconds, "report": report.as_dict(), "peak_rss_mb": peak,
                      "rss_before_sweep_mb": before}))


def _peak_rss_mb() -> float:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # elsewhere: the best there is


if __name__ == "__main__":
    main(sys.argv[1:])
