"""Reading a portfolio file: encoding, header and shape problems are clear errors, found before any row is used."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from accord.portfolio.csv_schema import COLUMN_NAMES
from accord.portfolio.errors import ImportRejected
from accord.portfolio.importer import validate_rows
from accord.portfolio.reader import read_portfolio
from tests.portfolio_files import portfolio_rows, write_csv

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def rejected(path: Path) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        read_portfolio(path)
    return caught.value


def test_a_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", portfolio_rows(NOW, 4))
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    # A spreadsheet saved the second row (line 3, a Chinese name) in GBK, the usual Windows encoding for Chinese.
    path.write_bytes(b"".join(line.encode("gbk" if n == 2 else "utf-8") for n, line in enumerate(lines)))
    error = rejected(path).errors[0]
    assert error.line == 3 and "not UTF-8" in error.reason and "GBK" in error.reason


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", portfolio_rows(NOW, 2))
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    rows, errors = read_portfolio(path)
    assert len(rows) == 2 and not errors and rows[0].line == 2


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "the file is empty"),
    (b"  \n\n", "the file is empty"),
    (",".join(COLUMN_NAMES).encode() + b"\n", "no data rows"),
    (";".join(COLUMN_NAMES).encode() + b"\n", "separated by commas"),
])
def test_empty_and_unusable_files(tmp_path: Path, content: bytes, reason: str) -> None:
    (tmp_path / "p.csv").write_bytes(content)
    assert reason in str(rejected(tmp_path / "p.csv").errors[0])


def test_missing_file_is_named(tmp_path: Path) -> None:
    assert "does not exist" in str(rejected(tmp_path / "nope.csv").errors[0])


def test_every_header_problem_is_listed(tmp_path: Path) -> None:
    columns = [c for c in COLUMN_NAMES if c not in ("phone", "currency")] + ["balance", "colour", ""]
    (tmp_path / "p.csv").write_text(",".join(columns) + "\n", encoding="utf-8")
    found = {(e.column, e.reason.split(";")[0]) for e in rejected(tmp_path / "p.csv").errors}
    assert found == {
        ("phone", "required column is missing"),
        ("currency", "required column is missing"),
        ("balance", "column appears more than once"),
        ("colour", "unknown column"),
        (None, f"column {len(columns)} has no name"),
    }


def test_optional_columns_may_be_left_out_and_header_case_is_ignored(tmp_path: Path) -> None:
    required = tuple(c for c in COLUMN_NAMES if c not in ("sms_consent_date", "preferred_channel"))
    path = write_csv(tmp_path / "p.csv", portfolio_rows(NOW, 3), required)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("external_id", " External_ID "), encoding="utf-8")
    rows, errors = read_portfolio(path)
    assert len(rows) == 3 and not errors


def test_rows_with_the_wrong_number_of_fields_and_quoted_line_breaks(tmp_path: Path) -> None:
    rows = portfolio_rows(NOW, 4)
    rows[1]["full_name"] = "Line\nBreak"  # a quoted cell spanning two lines: the next record starts a line later
    path = write_csv(tmp_path / "p.csv", rows)
    with path.open("a", encoding="utf-8") as handle:
        handle.write("DEMO-9999,too,few\n")
    raw, errors = read_portfolio(path)
    assert [r.line for r in raw] == [2, 3, 5, 6]
    assert [(e.line, e.reason) for e in errors] == [(7, f"has 3 fields but the header has {len(COLUMN_NAMES)}")]
    _, row_errors = validate_rows(raw, NOW.date())
    assert [(e.line, e.column) for e in row_errors] == [(3, "full_name")]


def test_repeated_accounts_phones_and_chats_name_the_first_line(tmp_path: Path) -> None:
    rows = portfolio_rows(NOW, 5)
    rows[3]["external_id"] = rows[0]["external_id"]
    rows[4]["phone"] = rows[1]["phone"]
    rows[2]["telegram_chat_id"] = rows[1]["telegram_chat_id"] = "555000111"
    raw, _ = read_portfolio(write_csv(tmp_path / "p.csv", rows))
    _, errors = validate_rows(raw, NOW.date())
    assert sorted((e.line, e.column, e.reason) for e in errors) == [
        (4, "telegram_chat_id", "repeats the value on line 3"),
        (5, "external_id", "repeats the value on line 2"),
        (6, "phone", "repeats the value on line 3"),
    ]


def test_the_summary_counts_bad_rows_not_header_problems(tmp_path: Path) -> None:
    (tmp_path / "p.csv").write_text("external_id,colour\n", encoding="utf-8")
    error = rejected(tmp_path / "p.csv")
    assert str(error) == f"{len(error.errors)} problem(s) with the file; nothing was imported"
    assert error.bad_lines == []
