"""What a cardholder says in the chat protects them in every later message: the dialogue steps set protective
states, and the next morning's sweep and dispatch (through the real gate) obey them until an officer lifts them.

The steps are called through Accord's internal API exactly as the Rasa actions call them; the real-Rasa version
of these conversations lives in tests/integration/dialogue/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.bootstrap import Container
from accord.dialogue.handback import HandBackRefused, resume_bot
from compliance.protection_lifecycle import lift
from core.clock import FixedClock
from core.protection import LiftOutcome
from scheduler.dispatcher import Dispatcher
from scheduler.sweep import run_sweep
from storage.db import transaction
from storage.installation import dialogue_senders
from storage.tables import (
    Account,
    Cardholder,
    ContactPoint,
    Conversation,
    Escalation,
    Message,
    ProtectiveState,
)
from tests.compliance_builders import compliance_config
from web.app import create_app

TOKEN = "change-me"
PACKS = {p.pack.value: p for p in compliance_config().packs}
PEOPLE = {"CN": ("zh", "Asia/Shanghai", "CNY", "+8613800138000"),
          "US": ("en", "America/New_York", "USD", "+12125550142"),
          "UK": ("en", "Europe/London", "GBP", "+447700900142")}


@pytest.fixture
def api(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, modules=("web.internal_api",))) as client:
        yield client


def _seed(container: Container, jurisdiction: str = "CN") -> int:
    language, zone, currency, phone = PEOPLE[jurisdiction]
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        holder = Cardholder(external_id=f"P-{jurisdiction}", full_name="Li Wei", language=language, timezone=zone,
                            jurisdiction=jurisdiction, card_last4="4242", birth_year=1980, created_at=now,
                            updated_at=now)
        s.add(holder)
        s.flush()
        s.add(Account(external_id=f"A-{jurisdiction}-0042", cardholder_id=holder.id, product="credit_card",
                      currency=currency, balance_minor=300_000, minimum_due_minor=20_000,
                      due_date=date(2026, 11, 3), days_past_due=20, stage="dpd_1_29", created_at=now,
                      updated_at=now))
        point = ContactPoint(cardholder_id=holder.id, channel="sms", address=phone, preferred=True,
                             consent_basis="express_written", consent_at=now, created_at=now, updated_at=now)
        s.add(point)
        s.flush()
        conversation = Conversation(cardholder_id=holder.id, contact_point_id=point.id, channel="sms",
                                    opened_at=now, last_message_at=now, cardholder_started=True)
        s.add(conversation)
        s.flush()
        return conversation.id


def post(api: TestClient, cid: int, step: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    sender = dialogue_senders(api.app.state.container).sender_for(cid)  # type: ignore[attr-defined]
    response = api.post(f"/internal/v1/conversations/{sender}/{step}", json=body,
                        headers={"X-Accord-Internal-Token": TOKEN})
    assert response.status_code == 200, response.text
    return response.json()


def _templates(result: dict[str, Any]) -> list[str]:
    return [r["template_id"] for r in result["replies"]]


def _morning(container: Container, days: int) -> list[Message]:
    """`days` later at 10:00 in the cardholder's zone: the sweep, then dispatch; what went out that morning."""
    clock: FixedClock = container.clock  # type: ignore[assignment]
    start = clock.now()
    clock.set(start + timedelta(days=days))
    run_sweep(container, clock.now())
    Dispatcher(container, "t", sleep=lambda _s: None, unit_random=lambda: 0.5).run_batch()
    with container.session_factory() as s:
        return list(s.scalars(select(Message).where(Message.direction == "outbound", Message.purpose == "reminder",
                                                    Message.created_at >= clock.now())))


@pytest.mark.parametrize(("reason", "kind"), [("attorney", "attorney"), ("bankruptcy", "bankruptcy"),
                                              ("dispute", "dispute"), ("distress", "distress")])
def test_a_protective_statement_stops_reminders_until_an_officer_lifts_it(api: TestClient, container: Container,
                                                                        reason: str, kind: str) -> None:
    cid = _seed(container)
    assert post(api, cid, "handoff", {"reason": reason})["pause"]
    with container.session_factory() as s:
        [state] = s.scalars(select(ProtectiveState)).all()
        assert (state.kind, state.set_by, state.status) == (kind, "bot", "active")
        assert state.evidence["conversation_id"] == cid
    assert _morning(container, 1) == []
    assert _morning(container, 6) == []  # a week on, still nothing
    pack = PACKS["CN"]
    outcome = {"dispute": LiftOutcome.DISPUTE_UPHELD, "distress": LiftOutcome.DISTRESS_REVIEWED}.get(kind,
                                                                                                  LiftOutcome.LIFTED)
    with transaction(container.session_factory) as s:
        lift(s, state.id, outcome=outcome, actor="officer:kim", role="supervisor", reason="reviewed with the customer",
             at=container.clock.now(), pack=pack, resume_on=container.clock.now().date())
    [resumed] = _morning(container, 1)
    assert resumed.status == "sent" and resumed.template_id.startswith("reminder.")


def test_a_rejected_dispute_waits_for_the_validation_period(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    post(api, cid, "handoff", {"reason": "dispute"})
    with transaction(container.session_factory) as s:
        state = s.scalars(select(ProtectiveState)).one()
        lift(s, state.id, outcome=LiftOutcome.DISPUTE_REJECTED, actor="officer:kim", role="officer",
             reason="records checked: the charges are the customer's", at=container.clock.now(), pack=PACKS["CN"])
    days = PACKS["CN"].protective_states["dispute"].resume_after_days
    assert _morning(container, days - 1) == []
    assert len(_morning(container, 2)) == 1


def test_a_third_party_is_never_verified_and_the_phone_gets_only_limited_content(api: TestClient,
                                                                                container: Container) -> None:
    cid = _seed(container)  # CN: the registered phone would otherwise count as the cardholder
    assert _templates(post(api, cid, "handoff", {"reason": "third_party"})) == ["third_party.acknowledged"]
    refused = post(api, cid, "verify/ask", {"intent": "ask_balance"})
    assert _templates(refused) == ["third_party.verification_closed"] and not refused["pause"]
    answered = post(api, cid, "verify", {"card_last4": "4242", "birth_year": "1980"})  # family members know both
    assert answered["slots"]["verified"] is False
    claimed = post(api, cid, "verify/ask", {"intent": "confirm_identity"})  # "actually it's me"
    assert claimed["pause"] and _templates(claimed) == ["third_party.verification_closed"]
    with container.session_factory() as s:
        assert s.scalars(select(Escalation.reason)).all() == ["identity_claim"]
        assert not s.get_one(Conversation, cid).verified
    [reminder] = _morning(container, 1)
    assert reminder.status == "sent" and reminder.template_id == "reminder.limited"
    assert "200" not in reminder.text and "0042" not in reminder.text


@pytest.mark.parametrize(("jurisdiction", "kind", "acknowledgement"),
                         [("US", "cease", "cease.acknowledgement"),
                          ("UK", "stop_all_contact", "stop_all.acknowledgement")])
def test_stop_contacting_me_is_a_cease_or_a_stop_of_all_contact_by_pack(
        api: TestClient, container: Container, jurisdiction: str, kind: str, acknowledgement: str) -> None:
    clock: FixedClock = container.clock  # type: ignore[assignment]
    clock.set(clock.now() + timedelta(hours=13))  # 10:00 in New York, 15:00 in London
    cid = _seed(container, jurisdiction)
    assert post(api, cid, "handoff", {"reason": "cease"})["pause"]
    assert post(api, cid, "handoff", {"reason": "cease"})["pause"]  # said twice: still one acknowledgement
    with container.session_factory() as s:
        assert [st.kind for st in s.scalars(select(ProtectiveState))] == [kind]
        sent = s.scalars(select(Message).where(Message.direction == "outbound")).all()
        assert [(m.template_id, m.purpose, m.status) for m in sent] == [
            (acknowledgement, "cease_acknowledgement", "sent")]
    assert _morning(container, 1) == []


def test_illness_proposes_a_vulnerability_for_an_officer(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    post(api, cid, "verify", {"card_last4": "4242", "birth_year": "1980"})
    post(api, cid, "hardship", {"hardship_type": "illness", "reason": "我住院了", "affordable": "每月五百"})
    with container.session_factory() as s:
        [state] = s.scalars(select(ProtectiveState)).all()
        assert (state.kind, state.status, state.evidence["driver"]) == ("vulnerability", "proposed", "health")
        assert s.scalars(select(Escalation.reason)).all() == ["vulnerability_review"]
        assert s.get_one(Conversation, cid).state == "bot"  # the plan conversation goes on meanwhile


def test_the_bot_cannot_take_back_a_conversation_whose_replies_a_state_blocks(api: TestClient,
                                                                             container: Container) -> None:
    cid = _seed(container)
    post(api, cid, "handoff", {"reason": "distress"})
    with pytest.raises(HandBackRefused, match="distress is in force"):
        resume_bot(container, cid, officer="officer:kim")
    with container.session_factory() as s:
        assert s.get_one(Conversation, cid).state == "officer"
        state = s.scalars(select(ProtectiveState)).one()
    with transaction(container.session_factory) as s:
        lift(s, state.id, outcome=LiftOutcome.DISTRESS_REVIEWED, actor="officer:kim", role="officer",
             reason="called back; referred to support", at=container.clock.now(), pack=PACKS["CN"],
             resume_on=container.clock.now().date())
    container.clock.set(container.clock.now() + timedelta(seconds=1))  # type: ignore[attr-defined]
    resume_bot(container, cid, officer="officer:kim")
    with container.session_factory() as s:
        assert s.get_one(Conversation, cid).state == "bot"
