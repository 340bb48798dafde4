"""Every protected page refuses roles without its permission (403), and no state-changing request without
the session's CSRF token gets through."""

from __future__ import annotations

from typing import Any

import pytest

from storage.db import transaction
from storage.tables import Escalation
from tests.console.conftest import Live
from tests.console.test_browser_desk import login

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PAGES = {
    "queue": ("/console/queue", {"officer", "supervisor"}),
    "conversation": ("/console/conversations/{conv}", {"officer", "supervisor"}),
    "approvals": ("/console/approvals", {"supervisor"}),
    "messages": ("/console/review/messages", {"supervisor", "compliance"}),
    "decision": ("/console/review/messages/{msg}", {"supervisor", "compliance"}),
    "export": ("/console/review/export?format=jsonl", {"supervisor", "compliance"}),
    "dashboard": ("/console/review/dashboard", {"supervisor", "compliance"}),
    "templates": ("/console/review/templates", {"compliance"}),
    "audit": ("/console/review/audit", {"compliance", "admin"}),
    "users": ("/console/admin/users", {"admin"}),
}
ROLE_USER = {"officer": "oscar", "supervisor": "sam", "compliance": "cora", "admin": "adam"}


@pytest.mark.parametrize("role", sorted(ROLE_USER))
def test_each_protected_page_refuses_roles_without_permission(new_page: Any, live: Live, role: str) -> None:
    page = new_page()
    login(page, ROLE_USER[role])
    for name, (path, allowed) in PAGES.items():
        url = path.format(conv=live.world.conversations["att"], msg=live.world.messages["zh.blocked"])
        status = page.request.get(url, max_redirects=0).status
        assert status == (200 if role in allowed else 403), f"{role} on {name}: {status}"


def test_anonymous_visitors_are_sent_to_login(new_page: Any, live: Live) -> None:
    page = new_page()
    response = page.request.get("/console/queue", max_redirects=0)
    assert response.status == 303 and response.headers["location"] == "/console/login"


def test_posts_without_the_csrf_token_are_refused(new_page: Any, live: Live) -> None:
    page = new_page()
    login(page, "oscar")
    escalation = live.world.escalations["att"]
    for headers in ({}, {"X-CSRF-Token": "forged"}):
        response = page.request.post(f"/console/escalations/{escalation}/claim", headers=headers, form={"x": "1"})
        assert response.status == 403
    assert page.request.post("/console/logout", form={"csrf_token": "forged"}).status == 403
    with transaction(live.container.session_factory) as s:
        esc = s.get(Escalation, escalation)
        assert esc is not None and esc.status == "open" and esc.claimed_by is None
    # The login form itself needs the token too (login CSRF).
    fresh = new_page()
    assert fresh.request.post("/console/login", form={"username": "oscar", "password": "x"}).status == 403
