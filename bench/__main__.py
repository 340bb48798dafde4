"""Run benchmarks: `python -m bench` runs every bench/bench_*.py, `python -m bench import sweep` a subset.

Results are merged by name into bench/results.json (a list of {name, value, unit, baseline, ratio}), so a
subset run refreshes its own figures and keeps the others from the last run. Exit status 1 if any module failed.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.common import BenchContext, Result

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results.json"


def discover() -> list[str]:
    return sorted(path.stem.removeprefix("bench_") for path in BENCH_DIR.glob("bench_*.py"))


def main(argv: list[str]) -> int:
    console = Console()
    available = discover()
    wanted = [name.removeprefix("bench_") for name in argv] or available
    unknown = [name for name in wanted if name not in available]
    if unknown:
        console.print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}")
        return 2
    results: list[Result] = []
    failed: list[str] = []
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="accord-bench-") as scratch:
        ctx = BenchContext(workdir=Path(scratch))
        for name in wanted:
            console.print(f"[bold]bench {name}[/bold] ...")
            try:
                module = importlib.import_module(f"bench.bench_{name}")
                results.extend(module.run(ctx))
            except Exception:  # one broken benchmark must not hide the others' figures
                failed.append(name)
                console.print(traceback.format_exc(), style="red")
    # Figures are wall-clock; a busy machine inflates them, so say how busy it was.
    ctx.notes.append(f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, "
                     f"on {os.cpu_count()} CPUs")
    _write(results)
    _print(console, results, ctx.notes, failed)
    return 1 if failed else 0


def _write(results: list[Result]) -> None:
    merged: dict[str, dict[str, Any]] = {}
    if RESULTS.exists():
        merged = {item["name"]: item for item in json.loads(RESULTS.read_text(encoding="utf-8"))}
    merged.update({result.name: result.as_dict() for result in results})
    RESULTS.write_text(json.dumps(sorted(merged.values(), key=lambda r: r["name"]), indent=2) + "\n",
                       encoding="utf-8")


def _print(console: Console, results: list[Result], notes: list[str], failed: list[str]) -> None:
    table = Table(title=f"Benchmarks (written to {RESULTS.relative_to(BENCH_DIR.parent)})")
    for column in ("name", "value", "unit", "baseline", "ratio"):
        table.add_column(column, justify="left" if column in ("name", "unit") else "right")
    for r in results:
        table.add_row(r.name, f"{r.value:.3f}", r.unit, "" if r.baseline is None else f"{r.baseline:.3f}",
                      "" if r.ratio is None else f"{r.ratio:.2f}x")
    console.print(table)
    for note in notes:
        console.print(f"  {note}")
    if failed:
        console.print(f"failed: {', '.join(failed)}", style="red")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
