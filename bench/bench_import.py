"""Portfolio import: 100,000 rows from a CSV file, on PostgreSQL and on SQLite.

Baseline: the same rows' records (cardholders, ledger, accounts, contact points, stage changes) loaded into the
same empty tables the plainest fast way, COPY on PostgreSQL and one executemany transaction on SQLite, with all
values prepared beforehand. The ratio is what validation, normalisation and the upsert cost on top of raw writes.
"""

from __future__ import annotations

import csv
import os
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import phonenumbers

from accord.bootstrap import bootstrap
from accord.portfolio.csv_schema import COLUMN_NAMES
from accord.portfolio.importer import import_file, validate_rows
from accord.portfolio.reader import read_portfolio
from accord.settings import PROJECT_ROOT, Settings
from accord.stage_config import load_stages
from bench.common import BenchContext, PeakMemory, Result, Timer, timer
from core.clock import FixedClock
from core.delinquency import assess
from storage.db import make_engine, migrate
from storage.tables.portfolio import Account, Cardholder, ContactLedger, ContactPoint, StageChange

ROWS = int(os.environ.get("ACCORD_BENCH_IMPORT_ROWS", "100000"))
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
US_AREAS = ("212", "312", "213", "303", "602", "617", "415", "773")


def run(ctx: BenchContext) -> list[Result]:
    path = ctx.workdir / "portfolio.csv"
    write_portfolio(path, ROWS)
    label = f"{ROWS // 1000}k"
    results = []
    for backend in ("postgres", "sqlite"):
        suffix = "" if backend == "postgres" else "_sqlite"
        with _database(ctx, backend) as url:
            first, again, peak = _import_twice(url, path)
        with _database(ctx, backend) as url:
            raw = _raw_load(url, path)
        results += [
            Result(f"import_{label}{suffix}_s", first.seconds, "s", raw.seconds),
            Result(f"import_{label}{suffix}_cpu_s", first.cpu_seconds, "s", raw.cpu_seconds),
            Result(f"reimport_{label}_unchanged{suffix}_s", again.seconds, "s", raw.seconds),
        ]
        if backend == "postgres":
            results.append(Result(f"import_{label}_peak_rss_mb", peak, "MB"))
    ctx.notes.append(f"import: {ROWS} rows, {path.stat().st_size / 2**20:.1f} MB CSV; baseline = raw bulk "
                     "load of the same records (COPY on PostgreSQL, executemany on SQLite)")
    return results


@contextmanager
def _database(ctx: BenchContext, backend: str) -> Iterator[str]:
    if backend == "sqlite":
        url = ctx.sqlite_url("import")
        migrate(url)
        yield url
        return
    with ctx.postgres_database() as url:
        migrate(url)
        yield url


def _import_twice(url: str, path: Path) -> tuple[Timer, Timer, float]:
    settings = Settings(accord_env="test", database_url=url, _env_file=None)  # type: ignore[call-arg]
    container = bootstrap(settings, clock=FixedClock(NOW))
    try:
        with PeakMemory() as memory, timer() as first:
            report = import_file(container, path)
        assert report.created == ROWS, report
        with timer() as second:
            report = import_file(container, path)
        assert report.unchanged == ROWS, report
        return first, second, memory.peak_mb
    finally:
        container.close()


def write_portfolio(path: Path, count: int) -> None:
    """A deterministic mixed portfolio: half CN (CNY, Asia/Shanghai), half US (USD, several zones)."""
    rng = random.Random(20261123)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, COLUMN_NAMES)
        writer.writeheader()
        us_numbers = _us_numbers(count // 2 + 1)
        for i in range(count):
            chinese = i % 2 == 0
            balance = rng.randrange(1_000_00, 80_000_00)
            writer.writerow({
                "external_id": f"BENCH-{i:07d}",
                "full_name": f"王芳{i}" if chinese else f"Jordan Smith {i}",
                "phone": f"+86138{i:08d}" if chinese else us_numbers[i // 2],
                "telegram_chat_id": str(500_000_000 + i) if i % 5 else "",
                "language": "zh" if chinese else "en",
                "timezone": "Asia/Shanghai" if chinese else rng.choice(("America/New_York", "America/Chicago")),
                "jurisdiction": "CN" if chinese else rng.choice(("US", "US-MA")),
                "product": rng.choice(("credit_card", "credit_card", "personal_loan")),
                "currency": "CNY" if chinese else "USD",
                "balance": f"{balance // 100}.{balance % 100:02d}",
                "minimum_due": f"{balance // 1000}.{balance // 10 % 100:02d}",
                "due_date": f"2026-{rng.randrange(6, 13):02d}-{rng.randrange(1, 29):02d}",
                "sms_consent": rng.choice(("yes", "yes", "yes", "no")),
                "card_last4": f"{rng.randrange(10_000):04d}",
                "birth_year": str(rng.randrange(1950, 2004)),
                "sms_consent_date": "",
                "preferred_channel": "",
            })


def _us_numbers(count: int) -> list[str]:
    numbers, k = [], 0
    while len(numbers) < count:
        area, exchange, line = US_AREAS[k % len(US_AREAS)], 201 + (k // 80_000) % 700, (k // 8) % 10_000
        number = f"+1{area}{exchange}{line:04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            numbers.append(number)
        k += 1
    return numbers


# -- baseline: the same records, prepared in advance and loaded raw -----------------------------------------


def _records(path: Path) -> dict[Any, list[dict[str, Any]]]:
    raw, _ = read_portfolio(path)
    rows, errors = validate_rows(raw, NOW.date())
    assert not errors, errors[:3]
    rules = load_stages(PROJECT_ROOT / "config").rules()
    out: dict[Any, list[dict[str, Any]]] = {t: [] for t in (Cardholder, ContactLedger, Account, ContactPoint,
                                                            StageChange)}
    stamps = {"created_at": NOW, "updated_at": NOW}
    for number, row in enumerate(rows, start=1):
        out[Cardholder].append({"id": number, "external_id": row.external_id, "full_name": row.full_name,
                                "language": row.language, "timezone": row.timezone,
                                "jurisdiction": row.jurisdiction, "card_last4": row.card_last4,
                                "birth_year": row.birth_year, **stamps})
        out[ContactLedger].append({"cardholder_id": number, "contacts_total": 0})
        standing = assess(row.balance_minor, row.minimum_due_minor, row.due_date, NOW.date(), rules)
        out[Account].append({"id": number, "external_id": row.external_id, "cardholder_id": number,
                             "product": row.product, "currency": row.currency, "balance_minor": row.balance_minor,
                             "minimum_due_minor": row.minimum_due_minor, "due_date": row.due_date,
                             "days_past_due": standing.days_past_due, "stage": standing.stage.value,
                             "stage_changed_at": NOW, "touches_in_stage": 0, **stamps})
        out[StageChange].append({"account_id": number, "from_stage": None, "to_stage": standing.stage.value,
                                 "days_past_due": standing.days_past_due, "changed_at": NOW})
        for channel, address in (("sms", row.phone), ("telegram", row.telegram_chat_id)):
            if address:
                out[ContactPoint].append({"cardholder_id": number, "channel": channel, "address": address,
                                          "preferred": channel == row.preferred_channel,
                                          "consent_basis": row.consent_basis, "consent_at": NOW,
                                          "verified": channel == "telegram", "status": "active", **stamps})
    return {model.__table__: [_complete(model, r) for r in records] for model, records in out.items()}


def _complete(model: Any, record: dict[str, Any]) -> dict[str, Any]:
    """Fill the Python-side defaults (e.g. days_past_due=0) that an INSERT through SQLAlchemy would add."""
    for column in model.__table__.columns:
        if column.name not in record and column.default is not None and column.default.is_scalar:
            record[column.name] = column.default.arg
    return record


def _raw_load(url: str, path: Path) -> Timer:
    tables = _records(path)
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"
    prepared = []
    for table, records in tables.items():
        columns = list(records[0])
        values = [[record[c] if postgres else _sqlite(record[c]) for c in columns] for record in records]
        prepared.append((table.name, columns, values))
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        with timer() as elapsed:
            for name, columns, values in prepared:
                if postgres:
                    with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                        for value in values:
                            copy.write_row(value)
                else:
                    marks = ", ".join("?" for _ in columns)
                    cursor.executemany(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", values)
            connection.commit()
        return elapsed
    finally:
        connection.close()
        engine.dispose()


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(" ")
    return value.isoformat() if hasattr(value, "isoformat") else value
