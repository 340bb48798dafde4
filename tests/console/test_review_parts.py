"""A message of several parts (one turn's replies, joined by the gate) on the console's decision page and in
`accord compliance explain`: both list every template the message holds, in order."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from accord.bootstrap import Container
from accord.cli.main import app as cli
from compliance.contract import DeliveryOutcome, SendRequest
from compliance.gate import ComplianceGate
from core.enums import Channel, MessagePurpose
from storage.db import transaction
from tests.compliance_builders import add_conversation, add_holder
from tests.console.seed import PASSWORD, seed
from tests.plan_offer import plan_offer

NOON_SHANGHAI = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.fixture
def reviewer(container: Container) -> Iterator[TestClient]:
    from web.app import create_app

    with transaction(container.session_factory) as s:
        seed(s, container.clock.now())
    with TestClient(create_app(container)) as client:
        page = client.get("/console/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        client.post("/console/login", data={"username": "cora", "password": PASSWORD, "csrf_token": token})
        yield client


def test_the_decision_page_and_explain_list_the_parts(reviewer: TestClient, container: Container,
                                                      monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    container.clock.set(NOON_SHANGHAI)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, NOON_SHANGHAI, ext="PARTS1", jurisdiction="CN",
                        timezone="Asia/Shanghai", language="zh", currency="CNY", stage="dpd_30_59", days_past_due=40)
    conversation = add_conversation(container.session_factory, NOON_SHANGHAI, holder)
    offer = plan_offer(balance_minor=250_000, currency="CNY", stage="dpd_30_59", affordable_minor=None)
    gate: ComplianceGate = container.extras["gate"]
    [outcome] = gate.deliver_combined([
        SendRequest(cardholder_id=holder.id, channel=Channel.SMS, purpose=MessagePurpose.BOT_REPLY, template_id=t,
                    params=dict(p), author="bot", account_id=holder.account_id, conversation_id=conversation)
        for t, p in offer])
    assert isinstance(outcome, DeliveryOutcome) and outcome.message_id is not None

    page = reviewer.get(f"/console/review/messages/{outcome.message_id}").text
    listed = re.findall(r"<li><code>([a-z_.]+)</code> v1</li>", page)
    assert listed == [t for t, _ in offer]
    assert "one message of 5 parts, in order: plan.offer_intro v1" in page

    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(cli, ["compliance", "explain", str(outcome.message_id)])
    assert result.exit_code == 0, result.output
    assert ("one message of 5 parts, in order: plan.offer_intro v1, plan.option_installments v1, "
            "plan.option_installments v1, plan.waivers_fees v1, plan.choose v1") in result.stdout
