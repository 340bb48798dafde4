"""Language follows the message: a zh-profile cardholder who writes English is read by the English model, and
answered in English or in Chinese as the policy pack's `reply_language` says. Real databases, the real gate and
catalog; the dialogue engine is the scripted fake, or the real Rasa adapter over an in-memory transport."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from bot.inbound import InboundMessage, InboundOutcome, InboundResult, pipeline_for
from bot.rasa_engine import RasaDialogueEngine
from compliance.packs import PackRegistry
from core.clock import FixedClock
from core.enums import Channel
from core.ports import DialogueEngine, DialogueReply
from storage.db import transaction
from storage.tables import Message
from tests import builders
from tests.compliance_builders import make_gate, pack_variant
from tests.fakes.channels import RecordingChannel
from tests.fakes.dialogue import ScriptedDialogue

PHONE = "+12125550123"
GREETING = {"en": "Hello. Thank you for replying.", "zh": "您好，感谢您的回复。"}  # dialogue.greet's approved texts

App = Callable[..., tuple[Container, dict[Channel, RecordingChannel]]]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))  # 10:00 in New York: inside every window


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Iterator[App]:
    """A zh-profile cardholder under the US pack (as given, or a variant), with a dialogue engine."""
    made: list[Container] = []

    def make(dialogue: DialogueEngine, packs: PackRegistry | None = None) -> tuple[Container, dict[Channel, RecordingChannel]]:
        container = bootstrap(settings, clock=clock, dialogue=dialogue)
        made.append(container)
        gate, channels = make_gate(container.session_factory, clock, packs=packs)
        container.extras["gate"] = gate
        with transaction(container.session_factory) as session:
            builders.cardholder(session, clock.now(), language="zh", phone=PHONE)
        return container, channels

    try:
        yield make
    finally:
        for container in made:
            container.close()


def greeting_engine() -> ScriptedDialogue:
    return ScriptedDialogue(replies=[DialogueReply("dialogue.greet")])


def say(container: Container, clock: FixedClock, text: str) -> InboundResult:
    result = pipeline_for(container).receive(InboundMessage(Channel.SMS, PHONE, text, clock.now()))
    assert result.outcome is InboundOutcome.REPLIED
    return result


def stored_language(container: Container, message_id: int) -> str | None:
    with container.session_factory() as session:
        return session.scalars(select(Message.language).where(Message.id == message_id)).one()


def test_english_from_a_zh_profile_is_read_by_the_en_model_and_answered_in_english(
        app: App, clock: FixedClock) -> None:
    dialogue = greeting_engine()
    container, channels = app(dialogue)

    result = say(container, clock, "Can I pay next week?")

    assert [turn.language for turn in dialogue.turns] == ["en"]
    [reply] = result.replies
    assert reply.sent and reply.decision.language == "en"
    assert GREETING["en"] in channels[Channel.SMS].sent[-1].text
    assert stored_language(container, result.message_id) == "en"


def test_a_message_that_does_not_tell_keeps_the_language_the_cardholder_last_wrote_in(
        app: App, clock: FixedClock) -> None:
    dialogue = greeting_engine()
    container, channels = app(dialogue)

    say(container, clock, "Can I pay next week?")
    digits = say(container, clock, "4417")
    ok = say(container, clock, "ok")
    chinese = say(container, clock, "我下周五还五百")

    assert [turn.language for turn in dialogue.turns] == ["en", "en", "en", "zh"]
    assert [r.replies[0].decision.language for r in (digits, ok, chinese)] == ["en", "en", "zh"]
    assert stored_language(container, digits.message_id) is None  # nothing detected: nothing stored
    assert GREETING["zh"] in channels[Channel.SMS].sent[-1].text


def test_with_no_language_in_the_conversation_the_profile_decides(app: App, clock: FixedClock) -> None:
    dialogue = greeting_engine()
    container, _ = app(dialogue)

    result = say(container, clock, "1986")

    assert dialogue.turns[0].language == "zh" and result.replies[0].decision.language == "zh"


def test_a_profile_pack_answers_in_the_profile_language(app: App, clock: FixedClock) -> None:
    dialogue = greeting_engine()
    container, channels = app(dialogue, pack_variant("US", reply_language="profile"))

    result = say(container, clock, "Can I pay next week?")

    assert dialogue.turns[0].language == "en"  # still understood by the English model
    assert result.replies[0].decision.language == "zh"
    assert GREETING["zh"] in channels[Channel.SMS].sent[-1].text


def test_the_rasa_adapter_sends_the_turn_to_the_en_server(app: App, clock: FixedClock) -> None:
    hosts: list[tuple[str, object]] = []

    def rasa(request: httpx.Request) -> httpx.Response:
        hosts.append((request.url.host, json.loads(request.content)["metadata"]))
        return httpx.Response(200, json=[{"recipient_id": "1", "custom": {"template_id": "dialogue.greet"}}])

    engine = RasaDialogueEngine({"en": "http://rasa-en:5005", "zh": "http://rasa-zh:5006"},
                                transport=httpx.MockTransport(rasa))
    container, channels = app(engine)

    say(container, clock, "Can I pay next week?")
    say(container, clock, "可以分期吗")

    assert hosts == [("rasa-en", {"language": "en"}), ("rasa-zh", {"language": "zh"})]
    assert GREETING["en"] in channels[Channel.SMS].sent[0].text
    assert GREETING["zh"] in channels[Channel.SMS].sent[1].text
