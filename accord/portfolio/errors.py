"""What goes wrong in a portfolio import, said precisely enough to fix the file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem in one cell. `line` is the file's physical line (the header is line 1); 0 means the file."""

    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.reason}"


class ImportRejected(Exception):
    """The file was refused as a whole; nothing was written. `errors` lists every problem found."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.line, e.column or ""))
        rows = len(self.bad_lines)
        summary = f"{rows} bad row(s), {len(self.errors)} problem(s)" if rows else (
            f"{len(self.errors)} problem(s) with the file")
        super().__init__(f"{summary}; nothing was imported")

    @property
    def bad_lines(self) -> list[int]:
        """Data rows with problems (line 1 is the header, 0 the file as a whole)."""
        return sorted({e.line for e in self.errors if e.line > 1})
