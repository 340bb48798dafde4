"""The reminder sweep over synthetic portfolios of 100k and 1M accounts on PostgreSQL.

Each sweep runs in its own process (bench/sweep_child.py), so its peak RSS is its own. Baseline: a raw COPY of
the same number of outbox rows into the same (emptied) outbox table, with the same indexes, in the same run.
Every account is due one touch, so the sweep writes exactly as many rows as the baseline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.common import BenchContext, Result, timer
from bench.synthetic import clear_outbox, load_portfolio, raw_insert_outbox
from storage.db import migrate

SIZES = [int(n) for n in os.environ.get("ACCORD_BENCH_SWEEP_SIZES", "100000,1000000").split(",")]


def label(count: int) -> str:
    return f"{count // 1_000_000}m" if count >= 1_000_000 and count % 1_000_000 == 0 else f"{count // 1000}k"


def run(ctx: BenchContext) -> list[Result]:
    results: list[Result] = []
    for count in SIZES:
        with ctx.postgres_database("accord_bench_sweep") as url:
            migrate(url)
            with timer() as load:
                load_portfolio(url, count)
            first = _sweep(url)
            planned = first["report"]["planned"]
            if planned != count:
                raise AssertionError(f"sweep planned {planned} rows for {count} accounts: {first['report']}")
            again = _sweep(url) if count == min(SIZES) else None  # idempotence at scale: nothing new
            if again is not None and again["report"]["planned"] != 0:
                raise AssertionError(f"a second sweep planned {again['report']['planned']} rows")
            clear_outbox(url)
            with timer() as raw:
                raw_insert_outbox(url, count)
        name = label(count)
        results.append(Result(f"sweep_{name}_s", first["seconds"], "s", raw.seconds))
        results.append(Result(f"sweep_{name}_peak_rss_mb", first["peak_rss_mb"], "MB"))
        second = f" (a second sweep: 0 rows in {again['seconds']:.1f}s)" if again else ""
        ctx.notes.append(f"sweep {name}: {count} accounts loaded by COPY in {load.seconds:.1f}s; sweep planned "
                         f"{planned} rows in {first['seconds']:.1f}s{second}; raw COPY of {count} outbox rows "
                         f"{raw.seconds:.1f}s; sweep process peak RSS {first['peak_rss_mb']:.0f} MB")
    largest = max(SIZES)
    top = next(r for r in results if r.name == f"sweep_{label(largest)}_s")
    results.append(Result("sweep_vs_insert_ratio", top.ratio or 0.0, "x"))
    return results


def _sweep(url: str) -> dict:  # type: ignore[type-arg]
    done = subprocess.run([sys.executable, "-m", "bench.sweep_child", url], capture_output=True, text=True,
                          check=False, env={**os.environ, "ACCORD_LOG_LEVEL": "WARNING"})
    if done.returncode != 0:
        raise RuntimeError(f"sweep process failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])
