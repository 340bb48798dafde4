"""Portfolio CSV files for import tests: the demo generator's rows, written the way a bank would export them."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from accord.portfolio.csv_schema import COLUMN_NAMES
from accord.portfolio.demo import demo_rows
from accord.stage_config import load_stages

CONFIG = Path(__file__).resolve().parent.parent / "config"


def portfolio_rows(now: datetime, size: int) -> list[dict[str, str]]:
    return [dict(row.cells) for row in demo_rows(now, load_stages(CONFIG).rules(), size=size)]


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMN_NAMES) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
