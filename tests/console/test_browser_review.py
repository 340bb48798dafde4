"""Compliance review in a real browser: search, a decision, an export identical to the CLI's, and the template
approval workflow (draft by one reviewer, approval by another, written into the catalog file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.console.conftest import Live, shot
from tests.console.test_browser_desk import login
from web.console.review import wiring

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def _first_message_template(config_dir: Path) -> tuple[str, str, str]:
    for path in sorted((config_dir / "templates").glob("*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8"))["templates"]:
            variant = entry.get("en")
            if entry.get("kind", "message") == "message" and variant and variant["status"] == "approved":
                return entry["id"], path.name, variant["text"]
    raise AssertionError("no approved English message template in the catalog")


def test_compliance_searches_opens_a_decision_and_exports(new_page: Any, live: Live, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = new_page()
    login(page, "cora")
    page.locator("#f-status").select_option("blocked")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.log tbody tr")
    expect(rows.first).to_contain_text("blocked")
    assert all("blocked" in rows.nth(i).inner_text() for i in range(rows.count()))
    shot(page, "en-messages")

    rows.first.locator("a").first.click()
    expect(page.locator("main h1")).to_contain_text("Decision for message")
    expect(page.locator("main")).to_contain_text("block")
    expect(page.locator("tr.fail").first).to_be_visible()
    shot(page, "en-decision")

    page.goto("/console/review/messages")
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    saved = tmp_path / "export.csv"
    info.value.save_as(saved)
    expected = "".join(wiring.export_lines(live.container, "csv", None, None, None))
    assert saved.read_bytes() == expected.encode("utf-8")
    assert expected.count("\n") >= 12  # header + every seeded message


def test_template_draft_and_approval_by_a_second_reviewer(new_page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    template_id, filename, text = _first_message_template(live.config_dir)
    author = new_page()
    login(author, "cody")
    author.goto(f"/console/review/templates/{template_id}")
    author.locator("#v-en ~ details summary, section:has(#v-en) details summary").first.click()
    author.locator("#draft-en").fill(text.strip() + " Thank you.")
    author.locator("section:has(#v-en) form[action$='/drafts'] button").click()
    expect(author.locator(".draft")).to_contain_text("cody")
    expect(author.locator(".draft")).to_contain_text("another reviewer")  # no self-approval

    page = new_page()
    login(page, "cora")
    page.goto(f"/console/review/templates/{template_id}")
    draft = page.locator(".draft").first
    expect(draft.locator(".diff .add")).to_contain_text("Thank you.")
    shot(page, "en-template-detail")
    draft.get_by_role("button", name="Approve").click()
    page.wait_for_load_state("networkidle")

    entry = next(t for t in yaml.safe_load((live.config_dir / "templates" / filename).read_text(encoding="utf-8"))
                 ["templates"] if t["id"] == template_id)
    assert entry["en"]["approver"] == "cora"
    assert entry["en"]["status"] == "approved"
    assert entry["en"]["text"].strip().endswith("Thank you.")
    expect(page.locator("section:has(#v-en) pre")).to_contain_text("Thank you.")
