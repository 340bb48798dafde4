"""Whole conversations through the real Rasa servers, then the next morning's sweep and dispatch through the real
gate: what a cardholder says protects every later message, in English (UK pack) and Chinese (CN pack), until an
officer lifts the state with a reason."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from accord.dialogue.live_stack import LiveStack
from accord.policy_packs import pack_of
from compliance.protection_lifecycle import lift
from core.clock import FixedClock
from core.protection import LiftOutcome
from scheduler.dispatcher import Dispatcher
from scheduler.sweep import run_sweep
from storage.db import transaction
from storage.tables import Message, ProtectiveState
from tests.integration.dialogue.conftest import NOW
from tests.integration.dialogue.test_conversations import Chat

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rasa")]

SAYS = {
    "attorney": {"en": "I have a lawyer now, contact my attorney from now on",
                 "zh": "我已经请了律师，以后请直接联系我的律师"},
    "bankruptcy": {"en": "I filed for bankruptcy last week", "zh": "我已经向法院申请了个人破产"},
    "dispute": {"en": "I don't owe this, these charges are not mine", "zh": "这笔钱不是我欠的，这些消费不是我刷的"},
    "distress": {"en": "I don't want to live anymore", "zh": "我真的不想活了"},
}
CEASE = {"en": "stop contacting me, I don't want any contact from you at all",
         "zh": "以后别再联系我了，任何方式都不要"}
THIRD_PARTY = {"en": ("this is his wife, how much does he owe?", "how much does he owe you", "4242", "1980"),
               "zh": ("我是他老婆，他欠了多少钱？", "他到底欠多少钱", "4242", "1980")}


@contextmanager
def the_day_after(stack: LiveStack, days: int) -> Iterator[datetime]:
    """The stack's clock moved on for the sweep and dispatch, and put back for the other conversations."""
    clock: FixedClock = stack.container.clock  # type: ignore[assignment]
    clock.set(NOW + timedelta(days=days))
    try:
        yield clock.now()
    finally:
        clock.set(NOW)


def reminders_on(stack: LiveStack, cardholder_id: int, days: int) -> list[Message]:
    """`days` after the conversation, at the same local hour: the sweep, one dispatch, and the reminders the
    cardholder got."""
    with the_day_after(stack, days) as now:
        run_sweep(stack.container, now)
        Dispatcher(stack.container, "morning", sleep=lambda _s: None, unit_random=lambda: 0.5).run_batch()
        with stack.container.session_factory() as s:
            return list(s.scalars(select(Message).where(
                Message.cardholder_id == cardholder_id, Message.direction == "outbound",
                Message.purpose == "reminder", Message.created_at >= now)))


def _state(stack: LiveStack, cardholder_id: int) -> ProtectiveState:
    with stack.container.session_factory() as s:
        return s.scalars(select(ProtectiveState).where(ProtectiveState.cardholder_id == cardholder_id)).one()


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", sorted(SAYS))
def test_a_protective_statement_stops_collection_until_an_officer_lifts_it(stack: LiveStack, language: str,
                                                                           kind: str) -> None:
    chat = Chat(stack, language)
    chat.say(SAYS[kind][language])
    state = _state(stack, chat.cardholder_id)
    assert (state.kind, state.set_by) == (kind, "bot")
    assert reminders_on(stack, chat.cardholder_id, 1) == []
    assert reminders_on(stack, chat.cardholder_id, 7) == []
    with the_day_after(stack, 7) as now, transaction(stack.container.session_factory) as s:
        pack = pack_of(stack.container, "UK" if language == "en" else "CN")
        assert pack is not None
        outcome = {"dispute": LiftOutcome.DISPUTE_UPHELD, "distress": LiftOutcome.DISTRESS_REVIEWED}.get(
            kind, LiftOutcome.LIFTED)
        lift(s, state.id, outcome=outcome, actor="officer:kim", role="supervisor", reason="spoke with the customer",
             at=now, pack=pack, resume_on=now.date())
    assert [m.status for m in reminders_on(stack, chat.cardholder_id, 8)] == ["sent"]


@pytest.mark.parametrize("language", ["en", "zh"])
def test_stop_contacting_me_stops_every_channel(stack: LiveStack, language: str) -> None:
    chat = Chat(stack, language)
    chat.say(CEASE[language])
    # The UK pack has no cease right, so it is a stop of all contact; the CN pack honours a cease request.
    assert _state(stack, chat.cardholder_id).kind == ("stop_all_contact" if language == "en" else "cease")
    with stack.container.session_factory() as s:
        acknowledgements = s.scalars(select(Message.template_id).where(
            Message.cardholder_id == chat.cardholder_id, Message.purpose == "cease_acknowledgement")).all()
    assert acknowledgements == ["stop_all.acknowledgement" if language == "en" else "cease.acknowledgement"]
    assert reminders_on(stack, chat.cardholder_id, 1) == []


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_self_declared_third_party_is_never_verified(stack: LiveStack, language: str) -> None:
    says_who, asks_again, card, year = THIRD_PARTY[language]
    chat = Chat(stack, language)
    assert "third_party.acknowledged" in chat.say(says_who)
    replies = chat.say(asks_again) + chat.say(card) + chat.say(year)
    # Whether the model hears the question as about the balance (verification refused, kindly) or as the third
    # party speaking again, verification never starts and never passes.
    assert replies and "verify.success" not in replies and "verify.ask_card_last4" not in replies
    assert not chat.conversation().verified
    [reminder] = reminders_on(stack, chat.cardholder_id, 1)
    assert reminder.status == "sent" and reminder.template_id == "reminder.limited"
