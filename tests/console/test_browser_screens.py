"""Walk every main page in English and Chinese, saving screenshots to tests/artifacts/screenshots/, and take a
plan beyond an officer's limits through the supervisor's approval on the way."""

from __future__ import annotations

from typing import Any

import pytest

from storage.db import transaction
from storage.tables import InstallmentPlan
from tests.console.conftest import Live, shot
from tests.console.test_browser_desk import login

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_main_pages_in_both_languages(new_page: Any, live: Live, lang: str) -> None:
    from playwright.sync_api import expect

    anonymous = new_page(lang)
    anonymous.goto("/console/login")
    if lang == "zh":
        anonymous.get_by_role("button", name="中文").click()
    expect(anonymous.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
    shot(anonymous, f"{lang}-login")

    officer = new_page(lang)
    login(officer, "oscar", lang)
    expect(officer.locator("h1")).to_have_text("升级队列" if lang == "zh" else "Escalation queue")
    shot(officer, f"{lang}-queue")
    conv = live.world.conversations["zh"]
    if lang == "en":
        officer.locator(f"tr[data-escalation='{live.world.escalations['zh']}'] button").click()
        officer.wait_for_url(f"**/console/conversations/{conv}**")
        officer.locator("#plan-term").fill("18")  # beyond an officer's 12 months
        officer.locator("#plan-discount").fill("0")
        officer.locator("form[action$='/plan'] button").click()
        officer.wait_for_url("**?done=plan_pending")
    officer.goto(f"/console/conversations/{conv}")
    shot(officer, f"{lang}-conversation")

    supervisor = new_page(lang)
    login(supervisor, "sam", lang)
    supervisor.goto("/console/approvals")
    shot(supervisor, f"{lang}-approvals")
    if lang == "en":
        supervisor.get_by_role("button", name="Approve").first.click()
        supervisor.wait_for_load_state("networkidle")
        with transaction(live.container.session_factory) as s:
            plan = s.query(InstallmentPlan).filter_by(conversation_id=conv).one()
            assert (plan.status, plan.term_months, plan.approved_by) == ("proposed", 18, "supervisor:sam")

    reviewer = new_page(lang)
    login(reviewer, "cora", lang)
    for name, path in (("messages", "/console/review/messages"),
                       ("decision", f"/console/review/messages/{live.world.messages['zh.blocked']}"),
                       ("dashboard", "/console/review/dashboard?days=7"),
                       ("templates", "/console/review/templates"),
                       ("audit", "/console/review/audit")):
        reviewer.goto(path)
        assert "[dash." not in reviewer.content() and "[review." not in reviewer.content()  # no missing phrase
        shot(reviewer, f"{lang}-{name}")

    admin = new_page(lang)
    login(admin, "adam", lang)
    admin.goto("/console/admin/users")
    shot(admin, f"{lang}-users")
