"""Template approvals are written into the catalog's YAML file: comments kept, invalid results refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from web.console.review.catalog_writer import CatalogWriteError, update_variant
from web.console.review.templates_flow import diff

CATALOG = """\
# Reminders. Reviewed by compliance; keep the tone respectful.
templates:
  - id: reminder.gentle   # the first touch
    purposes: [reminder]
    en:
      version: 3
      status: approved
      approver: cora
      approved_at: 2026-11-01
      text: |
        Hello from {sender}. A payment is due.
"""


def test_approval_bumps_the_version_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "reminders.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    before = update_variant(path, "reminder.gentle", "en", version=4, status="approved", approver="cody",
                            approved_at=date(2026, 11, 23), text="Hello from {sender}. A payment is due soon.")
    assert before["version"] == 3
    written = path.read_text(encoding="utf-8")
    assert "# Reminders. Reviewed by compliance" in written and "# the first touch" in written
    variant = yaml.safe_load(written)["templates"][0]["en"]
    assert variant == {"version": 4, "status": "approved", "approver": "cody", "approved_at": date(2026, 11, 23),
                       "text": "Hello from {sender}. A payment is due soon.\n"}


def test_a_change_that_breaks_the_schema_leaves_the_file_alone(tmp_path: Path) -> None:
    path = tmp_path / "reminders.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    with pytest.raises(CatalogWriteError, match="invalid"):
        update_variant(path, "reminder.gentle", "en", status="approved", approver=None)
    with pytest.raises(CatalogWriteError, match="not found"):
        update_variant(path, "reminder.nope", "en", status="retired")
    assert path.read_text(encoding="utf-8") == CATALOG


def test_diff_marks_added_and_removed_sentences() -> None:
    lines = diff("您好。请按时还款。", "您好。请在月底前还款。")
    assert [(d.kind, d.text) for d in lines if d.kind != "same"] == [("del", "请按时还款。"), ("add", "请在月底前还款。")]
