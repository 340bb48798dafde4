"""`accord import accounts`, `accord demo seed` and `accord status --json` as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from accord.bootstrap import Container
from accord.cli.main import app
from storage.tables.portfolio import Cardholder
from tests.portfolio_files import portfolio_rows, write_csv

NOW = "2026-11-23T02:00:00Z"  # the `clock` fixture's instant


@pytest.fixture
def accord(db_url: str, config_dir: Path):  # type: ignore[no-untyped-def]
    runner = CliRunner(env={"DATABASE_URL": db_url, "ACCORD_ENV": "test", "ACCORD_CONFIG_DIR": str(config_dir)})

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, [*args, "--now", NOW])

    return run


def cardholders(container: Container) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Cardholder)) or 0


def test_one_bad_row_in_a_thousand_imports_nothing_and_names_the_row(
    accord, container: Container, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    rows = portfolio_rows(container.clock.now(), 1000)
    rows[636]["currency"] = "RMB"
    result = accord("import", "accounts", str(write_csv(tmp_path / "p.csv", rows)))
    assert result.exit_code == 1
    assert "1 bad row(s)" in result.stderr and "nothing was imported" in result.stderr
    assert "line 638, column currency: 'RMB' is not an ISO 4217 currency code" in result.stderr
    assert cardholders(container) == 0


def test_every_bad_row_is_listed(accord, container: Container, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = portfolio_rows(container.clock.now(), 30)
    rows[0]["timezone"] = "Mars/Olympus"
    rows[9]["balance"] = "-3"
    rows[20]["due_date"] = "20/11/2026"
    rows[20]["language"] = "es"
    result = accord("import", "accounts", str(write_csv(tmp_path / "p.csv", rows)))
    assert result.exit_code == 1
    listed = [line.strip() for line in result.stderr.splitlines() if line.startswith("  line ")]
    assert [line.split(":")[0] for line in listed] == [
        "line 2, column timezone", "line 11, column balance", "line 22, column due_date", "line 22, column language"]
    assert cardholders(container) == 0


def test_a_non_utf8_file_is_a_clear_error(accord, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "p.csv").write_bytes("external_id,full_name\nA1,王芳\n".encode("gbk"))
    result = accord("import", "accounts", str(tmp_path / "p.csv"))
    assert result.exit_code == 1 and "line 2: the file is not UTF-8 text" in result.stderr


def test_a_good_file_imports_and_a_second_import_changes_nothing(
    accord, container: Container, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    path = str(write_csv(tmp_path / "p.csv", portfolio_rows(container.clock.now(), 1000)))
    first = accord("import", "accounts", path)
    assert first.exit_code == 0, first.output
    assert "1000 rows: 1000 created, 0 updated, 0 unchanged" in first.stdout
    second = accord("import", "accounts", path)
    assert second.exit_code == 0 and "1000 rows: 0 created, 0 updated, 1000 unchanged" in second.stdout
    assert cardholders(container) == 1000


def test_demo_seed_once_and_status_reflects_it(accord, container: Container) -> None:  # type: ignore[no-untyped-def]
    seeded = accord("demo", "seed")
    assert seeded.exit_code == 0 and "200 created" in seeded.stdout
    again = accord("demo", "seed")
    assert again.exit_code == 0 and "already holds 200 cardholders" in again.stdout

    status = accord("status", "--json")
    assert status.exit_code == 0, status.output
    snapshot = json.loads(status.stdout)
    stages = snapshot["accounts_by_stage"]
    assert snapshot["cardholders"] == stages["total"] == 200
    assert all(stages[s] > 0 for s in ("current", "pre_due", "dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_plus"))
    assert snapshot["contact_points"]["sms"]["active"] == 200
    assert 100 < snapshot["contact_points"]["telegram"]["active"] < 200
    assert snapshot["outbox_by_status"]["queued"] == 0
    assert snapshot["open_escalations"] == {"total": 0, "by_reason": {}}
    assert snapshot["policy_versions"]["stages"] == container.stages.version
    assert snapshot["as_of"] == "2026-11-23T02:00:00+00:00"

    table = accord("status")
    assert table.exit_code == 0 and "dpd_90_plus" in table.stdout and "Policy versions" in table.stdout
