"""What benchmark modules share: the Result record, the run context, timers, memory and temporary databases.

A benchmark module is bench/bench_<name>.py with `run(ctx: BenchContext) -> list[Result]`. Each figure carries
a baseline measured in the same run on the same machine (e.g. a raw bulk insert of the same rows), so the ratio
stays meaningful on a slower or busier machine.
"""

from __future__ import annotations

import os
import resource
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get("ACCORD_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@dataclass(frozen=True)
class Result:
    name: str
    value: float
    unit: str
    baseline: float | None = None  # the same work done the plain way, measured in the same run

    @property
    def ratio(self) -> float | None:
        if not self.baseline:
            return None
        return round(self.value / self.baseline, 3)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": round(self.value, 3), "unit": self.unit,
                "baseline": None if self.baseline is None else round(self.baseline, 3), "ratio": self.ratio}


@dataclass
class BenchContext:
    workdir: Path  # a scratch directory, removed after the run
    notes: list[str] = field(default_factory=list)  # printed under the table

    def sqlite_url(self, name: str) -> str:
        path = self.workdir / f"{name}-{uuid.uuid4().hex[:8]}.db"
        return f"sqlite:///{path}"

    @contextmanager
    def postgres_database(self, prefix: str = "accord_bench") -> Iterator[str]:
        """A fresh, empty PostgreSQL database on the local server, dropped afterwards."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        _admin(f'CREATE DATABASE "{name}"')
        try:
            yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        finally:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(statement: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(statement))
    engine.dispose()


class Timer:
    seconds: float = 0.0  # wall clock
    cpu_seconds: float = 0.0  # this process only: unaffected by other load, blind to a database server's work
    machine_cpu_seconds: float = 0.0  # every process on the machine (e.g. a database server and a fake provider too)


@contextmanager
def timer() -> Iterator[Timer]:
    result = Timer()
    start, start_cpu, start_machine = time.perf_counter(), time.process_time(), _machine_busy_s()
    try:
        yield result
    finally:
        result.seconds = time.perf_counter() - start
        result.cpu_seconds = time.process_time() - start_cpu
        result.machine_cpu_seconds = _machine_busy_s() - start_machine


@dataclass
class CpuPerItem:
    """CPU time per item of work, filled in when the `cpu_per_item` block ends. A process that keeps one core busy
    does at most 1000 / process_ms items a second, however its waits overlap."""

    process_ms: float = 0.0  # Timer.cpu_seconds per item, in ms
    machine_ms: float = 0.0  # Timer.machine_cpu_seconds per item, in ms


@contextmanager
def cpu_per_item(count: int) -> Iterator[CpuPerItem]:
    """A `timer()` block's CPU, per item."""
    result = CpuPerItem()
    with timer() as elapsed:
        yield result
    result.process_ms = 1000 * elapsed.cpu_seconds / count
    result.machine_ms = 1000 * elapsed.machine_cpu_seconds / count


def _machine_busy_s() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class PeakMemory:
    """Samples this process's resident memory while the block runs; `peak_mb` is the highest seen."""

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.peak_mb = 0.0
        self.start_mb = 0.0
        self._stop = threading.Event()

    def __enter__(self) -> PeakMemory:
        self._process = psutil.Process()
        self.start_mb = self.peak_mb = self._process.memory_info().rss / 2**20
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample_once()

    @property
    def growth_mb(self) -> float:
        return self.peak_mb - self.start_mb

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample_once()

    def _sample_once(self) -> None:
        self.peak_mb = max(self.peak_mb, self._process.memory_info().rss / 2**20)


def process_peak_rss_mb() -> float:
    """The whole process's high-water mark so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
