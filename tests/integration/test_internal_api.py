"""Accord's internal API for the Rasa actions, on both databases: auth, verification, negotiation, promises and
every way out of the bot. The actions themselves are tested under .venv-rasa (nlu/tests/actions)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.bootstrap import Container
from accord.dialogue.handback import resume_bot
from compliance.contract import SendRequest
from core.enums import Channel, MessagePurpose
from storage.db import transaction
from storage.installation import dialogue_senders
from storage.tables import (
    Account,
    Cardholder,
    ContactPoint,
    Conversation,
    Escalation,
    Installment,
    InstallmentPlan,
    OutboxItem,
    Promise,
    ProtectiveState,
)
from web.app import create_app

TOKEN = "change-me"  # the development default both sides read from settings


@pytest.fixture
def api(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, modules=("web.internal_api",))) as client:
        yield client


def _seed(container: Container, *, stage: str = "dpd_30_59", balance: int = 600_000, dpd: int = 40,
          language: str = "zh") -> int:
    now = container.clock.now()
    with transaction(container.session_factory) as session:
        holder = Cardholder(external_id=f"C-{stage}-{balance}", full_name="Li Wei", language=language,
                            timezone="Asia/Shanghai", jurisdiction="CN", card_last4="4242", birth_year=1980,
                            created_at=now, updated_at=now)
        session.add(holder)
        session.flush()
        session.add(Account(external_id=f"A-{holder.id}", cardholder_id=holder.id, product="credit_card",
                            currency="CNY", balance_minor=balance, minimum_due_minor=50_000,
                            due_date=date(2026, 10, 14), days_past_due=dpd, stage=stage, created_at=now,
                            updated_at=now))
        point = ContactPoint(cardholder_id=holder.id, channel="sms", address=f"+861380000{holder.id:04d}",
                             consent_basis="cardholder_agreement", consent_at=now, created_at=now, updated_at=now)
        session.add(point)
        session.flush()
        conversation = Conversation(cardholder_id=holder.id, contact_point_id=point.id, channel="sms",
                                    opened_at=now, last_message_at=now, cardholder_started=True)
        session.add(conversation)
        session.flush()
        return conversation.id


def url(api: TestClient, cid: int, step: str) -> str:
    """The action server's path for a step: Rasa's sender id for the conversation, as the actions send it."""
    return f"/internal/v1/conversations/{dialogue_senders(api.app.state.container).sender_for(cid)}/{step}"


def post(api: TestClient, cid: int, step: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.post(url(api, cid, step), json=body,
                        headers={"X-Accord-Internal-Token": TOKEN})
    assert response.status_code == 200, response.text
    return response.json()


def templates(result: dict[str, Any]) -> list[str]:
    return [r["template_id"] for r in result["replies"]]


def verify(api: TestClient, cid: int) -> None:
    assert post(api, cid, "verify", {"card_last4": "尾号4242", "birth_year": "一九八零年"})["slots"]["verified"]


def test_the_shared_secret_is_required(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    context = url(api, cid, "context")
    assert api.get(context).status_code == 401
    assert api.get(context, headers={"X-Accord-Internal-Token": "wrong"}).status_code == 401
    assert api.get(context, headers={"X-Accord-Internal-Token": TOKEN}).status_code == 200
    assert api.get(url(api, 999_999, "context"), headers={"X-Accord-Internal-Token": TOKEN}).status_code == 404


def test_context_shows_no_debt_detail_before_verification(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    context = api.get(url(api, cid, "context"), headers={"X-Accord-Internal-Token": TOKEN}).json()
    assert (context["verified"], context["stage"], context["language"]) == (False, None, "zh")
    verify(api, cid)
    context = api.get(url(api, cid, "context"), headers={"X-Accord-Internal-Token": TOKEN}).json()
    assert (context["verified"], context["stage"]) == (True, "dpd_30_59")


def test_failed_verification_locks_and_escalates_after_the_limit(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    first = post(api, cid, "verify", {"card_last4": "1111", "birth_year": "1980"})
    assert templates(first) == ["verify.failed_retry"] and first["replies"][0]["params"] == {"attempts_left": 2}
    post(api, cid, "verify", {"card_last4": "1111", "birth_year": "1980"})
    last = post(api, cid, "verify", {"card_last4": "4242", "birth_year": "1981"})
    assert templates(last) == ["verify.locked"] and last["pause"] and last["slots"]["verification_locked"]
    with container.session_factory() as session:
        assert session.get(Conversation, cid).state == "officer"
        assert session.scalars(select(Escalation.reason)).all() == ["verification_failed"]
    # Even the right answers do not unlock it now.
    assert templates(post(api, cid, "verify", {"card_last4": "4242", "birth_year": "1980"})) == ["verify.locked"]


def test_form_answers_are_parsed(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    assert post(api, cid, "parse", {"slot": "card_last4", "text": "卡号后四位 4242"})["data"]["value"] == "4242"
    assert post(api, cid, "parse", {"slot": "affordable_amount", "text": "每月两千块"})["data"]["value"] == "200000"
    bad = post(api, cid, "parse", {"slot": "promise_date", "text": "不知道"})
    assert bad["data"]["value"] is None and templates(bad) == ["promise.invalid_date"]
    assert post(api, cid, "parse", {"slot": "promise_date", "text": "下周五"})["data"]["value"] == "2026-12-04"


def test_the_cardholders_words_are_read_in_the_turns_language(api: TestClient, container: Container) -> None:
    """The action server passes on the turn's language (the message's metadata from Accord): an en-profile
    cardholder who writes Chinese has it read as Chinese, and the context says the turn's language."""
    cid = _seed(container, language="en")

    def parse_date(text: str, language: str | None) -> Any:
        headers = {"X-Accord-Internal-Token": TOKEN, **({"X-Accord-Turn-Language": language} if language else {})}
        response = api.post(url(api, cid, "parse"), json={"slot": "promise_date", "text": text}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["data"]["value"]

    assert parse_date("明天", None) is None  # "tomorrow", read as English: the profile's language
    assert parse_date("明天", "zh") == "2026-11-24"
    assert parse_date("明天", "xx") is None  # an unknown language is ignored: the profile's applies
    context = api.get(url(api, cid, "context"), headers={"X-Accord-Internal-Token": TOKEN,
                                                          "X-Accord-Turn-Language": "zh"}).json()
    assert context["language"] == "zh"
    assert api.get(url(api, cid, "context"), headers={"X-Accord-Internal-Token": TOKEN}).json()["language"] == "en"


def test_hardship_needs_verification(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    assert templates(post(api, cid, "hardship", {"hardship_type": "job_loss", "affordable": "1000"})) == [
        "verify.required"]


def test_offer_choose_read_back_confirm_records_the_plan(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    verify(api, cid)
    offer = post(api, cid, "hardship", {"hardship_type": "job_loss", "reason": "失业", "affordable": "每月1500"})
    assert templates(offer)[0] == "plan.offer_intro" and templates(offer)[-1] == "plan.choose"
    assert offer["slots"] == {"plan_stage": "offered"}
    first = offer["replies"][1]
    assert first["template_id"] == "plan.option_installments"
    assert first["params"]["monthly"] <= 150_000 and first["params"]["term_months"] <= 6
    assert "plan.waivers_fees" in templates(offer)
    read_back = post(api, cid, "plan/select", {"text": "我选第一个"})
    assert read_back["slots"] == {"plan_stage": "read_back"}
    params = read_back["replies"][0]["params"]
    assert set(params) == {"term_months", "monthly", "last_amount", "first_due", "last_due", "total"}
    assert params["first_due"] == "2026-11-30"  # local today (23 Nov in Shanghai) + 7 days
    confirmed = post(api, cid, "plan/confirm")
    assert templates(confirmed) == ["plan.confirmed"] and confirmed["slots"] == {"plan_stage": "confirmed"}
    with container.session_factory() as session:
        plan = session.scalars(select(InstallmentPlan).where(InstallmentPlan.status == "active")).one()
        rows = session.scalars(select(Installment).where(Installment.plan_id == plan.id)).all()
        assert len(rows) == plan.term_months and sum(r.amount_minor for r in rows) == 600_000
        assert session.scalars(select(Account)).one().reminders_paused_reason == "installment_plan"
        outbox = session.scalars(select(OutboxItem)).one()
        assert (outbox.template_id, outbox.purpose, outbox.params["first_due_date"]) == (
            "plan.confirmation", "plan_confirmation", "2026-11-30")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_a_budget_below_every_option_is_said_plainly(api: TestClient, container: Container, language: str) -> None:
    cid = _seed(container, language=language)
    verify(api, cid)
    offer = post(api, cid, "hardship", {"hardship_type": "job_loss", "affordable_minor": 10_000})  # 100 a month
    names = templates(offer)
    assert names[-2:] == ["plan.budget_short", "plan.choose"]
    options = [r["params"]["monthly"] for r in offer["replies"] if r["template_id"].startswith("plan.option_inst")]
    short = offer["replies"][-2]["params"]
    assert short == {"budget": 10_000, "lowest": min(options)} and min(options) > 10_000
    # Written out by the gate in the cardholder's language, money in the account's currency.
    gate = container.extras["gate"]
    with container.session_factory() as session:
        conversation = session.get_one(Conversation, cid)
        holder_id, point_id = conversation.cardholder_id, conversation.contact_point_id
        account_id = session.scalars(select(Account.id).where(Account.cardholder_id == holder_id)).one()
    decision = gate.evaluate(SendRequest(cardholder_id=holder_id, channel=Channel.SMS, purpose=MessagePurpose.BOT_REPLY,
                                     template_id="plan.budget_short", author="bot", params=short,
                                     account_id=account_id, conversation_id=cid, contact_point_id=point_id))
    assert decision.text, decision.reasons
    text = decision.text
    assert ("¥100.00" in text and "专员" in text) if language == "zh" else ("CN¥100.00" in text and "officer" in text)
    # A budget the options can meet gets no such line.
    assert "plan.budget_short" not in templates(post(api, cid, "hardship", {"hardship_type": "job_loss",
                                                                           "affordable_minor": 150_000}))


def test_counter_offer_inside_policy_is_read_back(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    verify(api, cid)
    post(api, cid, "hardship", {"hardship_type": "other", "affordable": "1000"})
    result = post(api, cid, "plan/counter", {"text": "每月两千，分三个月"})
    assert result["slots"] == {"plan_stage": "read_back"} and not result["pause"]
    assert result["replies"][0]["params"]["term_months"] == 3


def test_counter_offer_outside_policy_goes_to_an_officer_with_the_proposal(api: TestClient,
                                                                          container: Container) -> None:
    cid = _seed(container)
    verify(api, cid)
    post(api, cid, "hardship", {"hardship_type": "other", "affordable": "1000"})
    result = post(api, cid, "plan/counter", {"text": "每月两百，分三十个月"})
    assert templates(result) == ["plan.counter_referred"] and result["pause"]
    with container.session_factory() as session:
        escalation = session.scalars(select(Escalation)).one()
        assert escalation.reason == "offer_outside_policy"
        assert escalation.detail["proposal"] == {"monthly_minor": 20_000, "term_months": 30, "currency": "CNY"}
        assert "term_above_max" in escalation.detail["reasons"]


def test_balance_above_the_threshold_goes_to_an_officer(api: TestClient, container: Container) -> None:
    cid = _seed(container, balance=50_000_000)
    verify(api, cid)
    result = post(api, cid, "hardship", {"hardship_type": "illness", "affordable": "1000"})
    assert templates(result) == ["handoff.plan_by_officer"] and result["pause"]


def test_settlement_offered_only_at_90_plus(api: TestClient, container: Container) -> None:
    cid = _seed(container, stage="dpd_90_plus", dpd=120)
    verify(api, cid)
    offer = post(api, cid, "hardship", {"hardship_type": "illness", "affordable": "2000"})
    assert "plan.option_settlement" in templates(offer)
    read_back = post(api, cid, "plan/select", {"text": "一次性结清"})
    assert templates(read_back) == ["plan.read_back_settlement"]


def test_promise_is_recorded(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    verify(api, cid)
    result = post(api, cid, "promise", {"date": "2026-12-04", "amount": "50000"})
    assert templates(result) == ["promise.recorded"]
    assert result["replies"][0]["params"] == {"amount": 50_000, "date": "2026-12-04"}
    too_far = post(api, cid, "promise", {"date": "2027-06-01", "amount": "50000"})
    assert templates(too_far) == ["promise.invalid_date"]
    with container.session_factory() as session:
        promise = session.scalars(select(Promise)).one()
        assert (promise.amount_minor, promise.promised_date, promise.status) == (50_000, date(2026, 12, 4), "open")


@pytest.mark.parametrize("reason", ["ask_human", "attorney", "bankruptcy", "complaint"])
def test_hand_over_pauses_the_bot(api: TestClient, container: Container, reason: str) -> None:
    cid = _seed(container)
    result = post(api, cid, "handoff", {"reason": reason})
    assert result["pause"]
    with container.session_factory() as session:
        assert session.get(Conversation, cid).state == "officer"
        assert session.scalars(select(Escalation.reason)).one() == reason


def test_distress_goes_to_the_top_of_the_queue(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    result = post(api, cid, "handoff", {"reason": "distress"})
    assert templates(result) == ["distress.support"] and result["pause"]
    with container.session_factory() as session:
        assert session.scalars(select(Escalation.priority)).one() == 0


def test_dispute_and_already_paid_become_protective_states(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    assert templates(post(api, cid, "handoff", {"reason": "already_paid"})) == ["payment.claim_acknowledged"]
    with container.session_factory() as session:
        [claim] = session.scalars(select(ProtectiveState)).all()
        assert (claim.kind, claim.set_by, claim.status) == ("payment_claimed", "bot", "active")
        assert claim.account_id == session.scalars(select(Account.id)).one()
        assert session.get(Conversation, cid).state == "bot"  # a check, not a conversation for an officer
    assert post(api, cid, "handoff", {"reason": "dispute"})["pause"]
    with container.session_factory() as session:
        kinds = sorted(session.scalars(select(ProtectiveState.kind)))
        assert kinds == ["dispute", "payment_claimed"]
        assert session.scalars(select(Account)).one().reminders_paused_reason is None
        assert sorted(session.scalars(select(Escalation.reason))) == ["dispute", "payment_claimed"]


def test_wrong_number_and_third_party(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    assert templates(post(api, cid, "handoff", {"reason": "third_party"})) == ["third_party.acknowledged"]
    with container.session_factory() as session:
        assert session.get(Conversation, cid).third_party
    assert templates(post(api, cid, "handoff", {"reason": "wrong_number"})) == ["wrong_number.acknowledged"]
    with container.session_factory() as session:
        point = session.scalars(select(ContactPoint)).one()
        assert (point.status, point.status_reason) == ("review", "wrong_number")
        # The address itself now reaches someone else, once, whichever way it was said.
        [state] = session.scalars(select(ProtectiveState)).all()
        assert (state.kind, state.contact_point_id) == ("third_party", point.id)


def test_natural_language_opt_out_is_recorded_once(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    result = post(api, cid, "handoff", {"reason": "opt_out"})
    assert result["replies"] == [] and result["pause"]  # the gate sent the one opt-out confirmation itself
    with container.session_factory() as session:
        point = session.scalars(select(ContactPoint)).one()
        assert point.opted_out_method == "natural_language"


def test_two_fallbacks_in_a_row_hand_over(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    assert templates(post(api, cid, "fallback", {"in_a_row": 1})) == ["dialogue.fallback"]
    assert post(api, cid, "fallback", {"in_a_row": 2})["pause"]


def test_hand_back_returns_the_conversation_to_the_bot(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    post(api, cid, "handoff", {"reason": "ask_human"})
    assert resume_bot(container, cid, officer="officer:amy") is False  # no Rasa wired here
    with container.session_factory() as session:
        assert session.get(Conversation, cid).state == "bot"


def test_bad_input_is_refused_with_a_clear_error(api: TestClient, container: Container) -> None:
    cid = _seed(container)
    response = api.post(url(api, cid, "handoff"), json={"reason": "launch_missiles"},
                        headers={"X-Accord-Internal-Token": TOKEN})
    assert response.status_code == 422 and "reason" in response.text
    assert isinstance(datetime, type)
