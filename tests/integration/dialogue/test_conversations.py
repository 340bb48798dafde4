"""Whole conversations through the sandbox channel: the inbound pipeline, the real Rasa servers (one per
language), the action server and Accord's internal API, with every reply through the compliance gate."""

from __future__ import annotations

import itertools

import httpx
import pytest
from sqlalchemy import select

from accord.dialogue.handback import resume_bot
from accord.dialogue.live_stack import LiveStack
from bot.inbound import InboundMessage, pipeline_for
from compliance.turn_message import parts_of
from core.enums import Channel
from storage.db import transaction
from storage.installation import dialogue_senders
from storage.tables import (
    ComplianceDecision,
    Conversation,
    Escalation,
    Installment,
    InstallmentPlan,
    Message,
    OutboxItem,
    Promise,
)
from tests.integration.dialogue.conftest import NOW, add_cardholder

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rasa")]

_ids = itertools.count(1)


class Chat:
    def __init__(self, stack: LiveStack, language: str) -> None:
        self.stack = stack
        n = next(_ids)
        self.phone = f"+4477009{n:05d}" if language == "en" else f"+86138000{n:05d}"
        with transaction(stack.container.session_factory) as session:
            holder = add_cardholder(session, external_id=f"T{n}-{language}", language=language, phone=self.phone)
            self.cardholder_id = holder.id

    def say(self, text: str) -> list[str]:
        """Send one message; return the template ids of the replies the gate let out, in order (a message of
        several parts, one turn's replies joined by the gate, names each of its templates)."""
        result = pipeline_for(self.stack.container).receive(
            InboundMessage(Channel.SMS, self.phone, text, NOW, f"SM{next(_ids)}"))
        self.conversation_id = result.conversation_id
        with self.stack.container.session_factory() as session:
            ids = [r.message_id for r in result.replies]
            rows = session.scalars(select(Message).where(Message.id.in_(ids))).all() if ids else []
            statuses = {row.template_id: row.status for row in rows}
            counters = {row.id: session.get_one(ComplianceDecision, row.decision_id).counters for row in rows}
        assert all(status == "sent" for status in statuses.values()), statuses
        return [template for row in sorted(rows, key=lambda r: r.id)
                for template in parts_of(counters[row.id], row.template_id)]

    def conversation(self) -> Conversation:
        with self.stack.container.session_factory() as session:
            conversation = session.get(Conversation, self.conversation_id)
            assert conversation is not None
            return conversation


SCRIPTS = {
    "en": {"hello": "hi, I got your text", "hardship": "I lost my job last month and I can't pay",
           "card": "4242", "year": "1980", "amount": "I can afford 1,500 a month",
           "choose": "I'll take option 1", "yes": "yes", "human": "I want to talk to a real person",
           "promise": "I'll pay 500 next Friday"},
    "zh": {"hello": "你好，收到你们的短信了", "hardship": "我上个月失业了，还不上", "card": "4242",
           "year": "1980", "amount": "每个月能还一千五", "choose": "我选第一个", "yes": "是的",
           "human": "我要找人工客服", "promise": "我下周五还五百"},
}

# Answers a form cannot read: a card number, a birth year and a monthly amount that are not there.
UNREADABLE = {"en": {"card": "my card is blue", "year": "born in the spring", "amount": "I lost my job"},
              "zh": {"card": "我的卡是蓝色的", "year": "春天出生的", "amount": "我失业了"}}


@pytest.mark.parametrize("language", ["en", "zh"])
def test_hardship_to_an_agreed_plan(stack: LiveStack, language: str) -> None:
    s = SCRIPTS[language]
    chat = Chat(stack, language)
    assert chat.say(s["hello"]) == ["dialogue.greet"]
    assert chat.say(s["hardship"]) == ["verify.ask_card_last4"]
    assert chat.say(s["card"]) == ["verify.ask_birth_year"]
    assert chat.say(s["year"]) == ["verify.success", "hardship.ask_amount"]
    offer = chat.say(s["amount"])
    assert offer[0] == "plan.offer_intro" and offer[-1] == "plan.choose"
    assert 2 <= sum(t.startswith("plan.option_") for t in offer) <= 3
    read_back = chat.say(s["choose"])
    assert len(read_back) == 1 and read_back[0].startswith("plan.read_back_")
    assert chat.say(s["yes"]) == ["plan.confirmed"]

    with stack.container.session_factory() as session:
        plan = session.scalars(select(InstallmentPlan).where(
            InstallmentPlan.conversation_id == chat.conversation_id, InstallmentPlan.status == "active")).one()
        installments = session.scalars(select(Installment).where(Installment.plan_id == plan.id)).all()
        assert len(installments) == plan.term_months + (1 if plan.down_payment_minor else 0)
        assert sum(i.amount_minor for i in installments) == plan.total_minor
        queued = session.scalars(select(OutboxItem).where(OutboxItem.idempotency_key == f"plan-confirmation:{plan.id}"))
        assert queued.one().template_id == "plan.confirmation"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_an_unreadable_answer_is_asked_for_again_once(stack: LiveStack, language: str) -> None:
    # The re-ask ("please reply with ..., for example ...") is the whole reply: the form's own question, which
    # opens with "Thank you", does not follow it.
    s, bad = SCRIPTS[language], UNREADABLE[language]
    chat = Chat(stack, language)
    assert chat.say(s["hardship"]) == ["verify.ask_card_last4"]
    assert chat.say(bad["card"]) == ["verify.invalid_card_last4"]
    assert chat.say(s["card"]) == ["verify.ask_birth_year"]
    assert chat.say(bad["year"]) == ["verify.invalid_birth_year"]
    assert chat.say(s["year"]) == ["verify.success", "hardship.ask_amount"]
    assert chat.say(bad["amount"]) == ["hardship.invalid_amount"]
    offer = chat.say(s["amount"])
    assert offer[0] == "plan.offer_intro" and offer[-1] == "plan.choose"


@pytest.mark.parametrize("language", ["en", "zh"])
def test_asking_for_a_person_queues_an_officer_and_pauses_the_bot(stack: LiveStack, language: str) -> None:
    s = SCRIPTS[language]
    chat = Chat(stack, language)
    assert chat.say(s["hello"]) == ["dialogue.greet"]
    assert chat.say(s["human"]) == ["escalation.handoff"]
    assert chat.conversation().state == "officer"
    with stack.container.session_factory() as session:
        escalation = session.scalars(select(Escalation).where(
            Escalation.conversation_id == chat.conversation_id)).one()
        assert (escalation.reason, escalation.status) == ("ask_human", "open")
    tracker = _tracker(stack, language, chat.conversation_id)
    assert tracker["paused"] is True
    # While an officer holds it, messages reach the officer queue, not the bot.
    assert chat.say(s["hello"]) == []

    assert resume_bot(stack.container, chat.conversation_id, officer="officer:test") is True
    assert chat.conversation().state == "bot"
    assert _tracker(stack, language, chat.conversation_id)["paused"] is False
    assert chat.say(s["hello"]) == ["dialogue.greet"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_promise_is_recorded_after_verification(stack: LiveStack, language: str) -> None:
    s = SCRIPTS[language]
    chat = Chat(stack, language)
    assert chat.say(s["promise"]) == ["verify.ask_card_last4"]
    assert chat.say(s["card"]) == ["verify.ask_birth_year"]
    assert chat.say(s["year"]) == ["verify.success", "promise.recorded"]
    with stack.container.session_factory() as session:
        promise = session.scalars(select(Promise).where(Promise.conversation_id == chat.conversation_id)).one()
        assert promise.amount_minor == 50_000
        assert promise.promised_date.isoformat() == ("2026-11-27" if language == "en" else "2026-12-04")


def _tracker(stack: LiveStack, language: str, conversation_id: int) -> dict:
    sender = dialogue_senders(stack.container).sender_for(conversation_id)
    response = httpx.get(f"{stack.rasa.urls[language]}/conversations/{sender}/tracker",
                         params={"token": stack.rasa.token}, timeout=10)
    response.raise_for_status()
    return response.json()
