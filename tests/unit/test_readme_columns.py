from __future__ import annotations

from pathlib import Path

from accord.portfolio.csv_schema import COLUMNS


def test_readme_documents_every_import_column() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Portfolio import", 1)[1].split("\n## ", 1)[0]
    documented = [line.split("|")[1].strip().strip("`") for line in section.splitlines() if line.startswith("| `")]
    assert documented == [column.name for column in COLUMNS]
