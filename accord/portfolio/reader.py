"""Read a portfolio CSV into numbered rows, refusing files that are not what they claim to be.

The whole file is read at once (100,000 rows is a few megabytes) so an encoding problem is found before any row
is looked at, and can be reported with its line number.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accord.portfolio.csv_schema import header_errors
from accord.portfolio.errors import ImportRejected, RowError


@dataclass(frozen=True, slots=True)
class RawRow:
    line: int  # physical line where the record starts; the header is line 1
    cells: dict[str, str]


def read_portfolio(path: Path) -> tuple[list[RawRow], list[RowError]]:
    """Decode and split the file. File-level problems raise ImportRejected; row shape problems are returned."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ImportRejected([RowError(0, None, f"{path} does not exist")]) from None
    except IsADirectoryError:
        raise ImportRejected([RowError(0, None, f"{path} is a directory, not a CSV file")]) from None
    return parse_portfolio(decode(data))


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise ImportRejected([RowError(
            line, None,
            f"the file is not UTF-8 text (byte 0x{byte} cannot be decoded); it may be GBK or Latin-1: "
            "save it again as UTF-8 (CSV UTF-8)",
        )]) from None


def parse_portfolio(text: str) -> tuple[list[RawRow], list[RowError]]:
    if not text.strip():
        raise ImportRejected([RowError(0, None, "the file is empty; expected a header line and data rows")])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as exc:
        raise ImportRejected([RowError(1, None, f"the header line is not valid CSV: {exc}")]) from None
    problems = header_errors(header)
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        problems = [RowError(1, None, "the header has one column; fields must be separated by commas")]
    if problems:
        raise ImportRejected(problems)

    records, errors = data_rows(reader, header)
    rows = [RawRow(line, cells) for line, cells in records]
    if not rows and not errors:
        raise ImportRejected([RowError(0, None, "the file has a header but no data rows")])
    return rows, errors


def data_rows(reader: Any, header: list[str]) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    """The records after the header, each with the physical line it starts on, keyed by column; blank lines are
    skipped and a record of the wrong width is a problem of its line. Shared by every CSV Accord reads."""
    rows: list[tuple[int, dict[str, str]]] = []
    errors: list[RowError] = []
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(start, None, f"not valid CSV: {exc}"))
            break  # the parser cannot resynchronise after a broken quote
        if fields and any(f.strip() for f in fields):
            if len(fields) != len(header):
                errors.append(RowError(start, None, f"has {len(fields)} fields but the header has {len(header)}"))
            else:
                rows.append((start, dict(zip(header, fields, strict=True))))
        start = reader.line_num + 1
    return rows, errors
