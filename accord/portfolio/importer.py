"""The portfolio import service, shared by `accord import accounts`, `accord demo seed`, tests and benchmarks.

All or nothing: every row is validated before anything is written, and the writes share one transaction, so a
file with any bad row (or a conflict with stored data) leaves the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from accord.bootstrap import Container
from accord.policy_packs import pack_of
from accord.portfolio.csv_schema import ImportRow, validate_row
from accord.portfolio.errors import ImportRejected, RowError
from accord.portfolio.reader import RawRow, read_portfolio
from accord.portfolio.upsert import PortfolioWriter
from storage.db import transaction

CHUNK_ROWS = 2_000
# Called as progress(phase, done, total) with phase "validate" or "write".
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: int
    created: int
    updated: int
    unchanged: int
    stage_changes: int
    vulnerabilities: int = 0  # vulnerability states set or replaced from the file's vulnerability column

    @property
    def changed(self) -> int:
        return self.created + self.updated


def import_file(container: Container, path: Path, *, progress: Progress | None = None) -> ImportReport:
    raw_rows, shape_errors = read_portfolio(path)
    return import_rows(container, raw_rows, progress=progress, prior_errors=shape_errors, file=path.name)


def import_rows(
    container: Container,
    raw_rows: Sequence[RawRow],
    *,
    progress: Progress | None = None,
    prior_errors: Sequence[RowError] = (),
    file: str = "",
) -> ImportReport:
    """Validate then upsert. Raises ImportRejected, listing every problem, when anything is wrong."""
    now = container.clock.now()
    rows, errors = validate_rows(raw_rows, now.date(), progress)
    errors.extend(prior_errors)
    if errors:
        raise ImportRejected(errors)
    with transaction(container.session_factory) as session:
        writer = PortfolioWriter(session, now, container.stages.rules(), file=file,
                                 pack_for=lambda jurisdiction: pack_of(container, jurisdiction))
        for start in range(0, len(rows), CHUNK_ROWS):
            writer.write(rows[start : start + CHUNK_ROWS])
            if progress:
                progress("write", min(start + CHUNK_ROWS, len(rows)), len(rows))
        writer.finish()
        if writer.report.errors:
            raise ImportRejected(writer.report.errors)  # leaving the block rolls everything back
    report = writer.report
    return ImportReport(len(rows), report.created, report.updated, report.unchanged, report.stage_changes,
                        report.vulnerabilities)


def validate_rows(
    raw_rows: Sequence[RawRow], today: date, progress: Progress | None = None
) -> tuple[list[ImportRow], list[RowError]]:
    """Check each row, then the rules across rows: an account, phone or chat id may appear only once."""
    rows: list[ImportRow] = []
    errors: list[RowError] = []
    first_seen: dict[tuple[str, str], int] = {}
    for index, raw in enumerate(raw_rows, start=1):
        result = validate_row(raw.line, raw.cells, today)
        if isinstance(result, list):
            errors.extend(result)
        else:
            for column in ("external_id", "phone", "telegram_chat_id"):
                value = getattr(result, column)
                if value is None:
                    continue
                first = first_seen.setdefault((column, value), raw.line)
                if first != raw.line:
                    errors.append(RowError(raw.line, column, f"repeats the value on line {first}"))
            rows.append(result)
        if progress and (index % CHUNK_ROWS == 0 or index == len(raw_rows)):
            progress("validate", index, len(raw_rows))
    return rows, errors
