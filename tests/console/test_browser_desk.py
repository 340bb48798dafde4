"""The officer desk in a real browser: queue order, claiming, an inert hostile message, replying through the
gate, a blocked reply with its reason, a plan, live inbound messages and the hand-back to the bot."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from storage.db import transaction
from storage.tables import Conversation, Escalation, Installment, InstallmentPlan, Message
from tests.console.conftest import NOW, Live, shot
from tests.console.seed import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def login(page: Any, username: str, lang: str = "en") -> None:
    page.goto("/console/login")
    if lang == "zh":
        page.get_by_role("button", name="中文").click()
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/console/login'] button[type=submit]").click()
    page.wait_for_load_state("networkidle")


def test_officer_claims_replies_proposes_and_hands_back(new_page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = new_page()
    login(page, "olivia")
    rows = page.locator("#queue-rows tr[data-escalation]")
    expect(rows).to_have_count(4)
    reasons = [rows.nth(i).get_attribute("class").split()[0] for i in range(4)]
    assert reasons == ["reason-distress", "reason-attorney", "reason-dispute", "reason-ask_human"]
    shot(page, "en-queue")

    conv_id = live.world.conversations["us"]
    page.locator(f"tr[data-escalation='{live.world.escalations['us']}'] button").click()
    page.wait_for_url(f"**/console/conversations/{conv_id}?done=claimed")

    # The cardholder's <script> and HTML arrive as text: shown literally, never run or rendered.
    thread = page.locator("#thread")
    expect(thread).to_contain_text("<script>window.__pwned = 1</script>")
    assert thread.locator("script, img, b").count() == 0
    assert page.evaluate("window.__pwned") is None

    page.locator("#reply-text").fill("Thank you, John. I can help you set up a payment plan today.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#reply-result")).to_contain_text("Sent.")
    expect(thread.locator(".turn.officer")).to_have_count(1, timeout=8000)  # arrives by polling

    # A new inbound message shows up without a reload.
    with transaction(live.container.session_factory) as s:
        conv = s.get(Conversation, conv_id)
        assert conv is not None
        s.add(Message(cardholder_id=conv.cardholder_id, conversation_id=conv_id, channel=conv.channel,
                      direction="inbound", status="received", author="cardholder", text="Yes, six months works.",
                      created_at=NOW + timedelta(seconds=5)))
    expect(thread).to_contain_text("Yes, six months works.", timeout=8000)

    page.locator("#plan-term").fill("6")
    page.get_by_role("button", name="Propose", exact=True).click()
    page.wait_for_url("**?done=plan_proposed")
    expect(page.locator("main")).to_contain_text("Plan recorded as proposed")
    shot(page, "en-conversation")

    page.locator("#outcome-kind").select_option("plan")  # the cardholder said yes: record the plan accepted
    page.locator("#outcome-plan").select_option(index=1)
    page.get_by_role("button", name="Record", exact=True).click()
    page.wait_for_url("**?done=outcome_saved")

    page.get_by_role("button", name="Hand back to the bot").click()
    page.wait_for_url("**/console/queue?done=handed_back")
    with transaction(live.container.session_factory) as s:
        conv = s.get(Conversation, conv_id)
        esc = s.get(Escalation, live.world.escalations["us"])
        plan = s.scalars(select(InstallmentPlan).where(InstallmentPlan.conversation_id == conv_id)).one()
        assert conv is not None and esc is not None
        assert (conv.state, conv.held_by) == ("bot", None)
        assert (esc.status, esc.outcome, esc.claimed_by) == ("resolved", "plan", "olivia")
        assert esc.first_reply_at is not None
        assert (plan.status, plan.term_months) == ("active", 6)
        assert len(s.scalars(select(Installment).where(Installment.plan_id == plan.id)).all()) == 6


def test_blocked_reply_shows_why_and_what_would_pass(new_page: Any, live: Live) -> None:
    from playwright.sync_api import expect

    page = new_page()
    login(page, "oscar")
    page.locator(f"tr[data-escalation='{live.world.escalations['uk']}'] button").click()
    page.wait_for_url("**/console/conversations/*")
    page.locator("#reply-text").fill("Please pay today or we will have you arrested.")
    page.get_by_role("button", name="Send", exact=True).click()
    result = page.locator("#reply-result .blocked-reply")
    expect(result).to_be_visible()
    expect(result).to_contain_text("Not sent")
    expect(result.locator(".findings")).to_contain_text("arrest")
    shot(page, "en-conversation-blocked")
    with transaction(live.container.session_factory) as s:
        attempt = s.scalars(select(Message).where(Message.author == "officer:oscar")).one()
        assert attempt.status == "blocked"  # the blocked attempt is on the record for compliance
