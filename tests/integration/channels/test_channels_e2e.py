"""End to end with everything real but the providers: the sweep plans a reminder, the dispatcher hands it to the
compliance gate, the gate sends it through the real Twilio / PTB clients to the loopback fakes; signed replies
come back through the webhooks, the answers go out the same way, and delivery reports settle the messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from bot.binding_invite import queue_invite
from compliance import audit
from core.clock import FixedClock
from core.ports import DialogueReply
from scheduler.dispatcher import Dispatcher
from scheduler.sweep import run_sweep
from storage.db import transaction
from storage.tables import ContactPoint, Message, OutboxItem
from tests import builders
from tests.fakes.dialogue import ScriptedDialogue
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.channels.support import post_telegram, post_twilio, telegram_fixture, twilio_fixture
from web.app import create_app

PHONE = "+12125550123"
CHAT = 5550001234
MORNING = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 10:00 in New York: inside every contact window


@pytest.fixture
def world(live_settings: Settings) -> Iterator[tuple[Container, TestClient, FixedClock]]:
    clock = FixedClock(MORNING)
    dialogue = ScriptedDialogue(replies=[DialogueReply("dialogue.how_can_help", {})])
    container = bootstrap(live_settings, clock=clock, dialogue=dialogue)
    with transaction(container.session_factory) as session:
        builders.cardholder(session, clock.now(), phone=PHONE, chat_id=None)
    try:
        with TestClient(create_app(container)) as client:
            yield container, client, clock
    finally:
        container.close()


def dispatch(container: Container) -> dict[str, int]:
    return Dispatcher(container, "e2e", sleep=lambda _s: None).drain().as_dict()


def outbound(container: Container) -> list[Message]:
    with container.session_factory() as session:
        return list(session.scalars(select(Message).where(Message.direction == "outbound").order_by(Message.id)))


def deliver(client: TestClient, twilio_api: FakeTwilioApi, sid: str) -> None:
    url, params = twilio_api.status_callback(sid, "delivered")
    assert post_twilio(client, urlsplit(url).path, params).status_code == 204


def sms_reply(client: TestClient, text: str, sid: str) -> None:
    params = twilio_fixture("inbound_sms.txt", Body=text, From=PHONE, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid)
    assert post_twilio(client, "/webhooks/twilio/sms", params).status_code == 200


def test_sms_reminder_reply_answer_and_delivery_reports(world: tuple[Container, TestClient, FixedClock],
                                                        twilio_api: FakeTwilioApi) -> None:
    container, client, _clock = world
    assert run_sweep(container).as_dict()["planned"] == 1
    assert dispatch(container).get("sent") == 1

    [reminder] = twilio_api.created()
    assert reminder["To"] == PHONE and reminder["MessagingServiceSid"]
    [row] = outbound(container)
    assert (row.purpose, row.status, row.text) == ("reminder", "sent", reminder["Body"])
    assert row.provider_message_id in twilio_api.messages
    deliver(client, twilio_api, row.provider_message_id)
    assert outbound(container)[0].status == "delivered"

    sms_reply(client, "Can I pay on Friday? 😀", "SM" + "c" * 32)
    answer = twilio_api.created()[1]
    assert answer["To"] == PHONE and "How can we help?" in answer["Body"]
    reply_row = outbound(container)[1]
    assert (reply_row.purpose, reply_row.status) == ("bot_reply", "sent")
    deliver(client, twilio_api, reply_row.provider_message_id)
    assert [m.status for m in outbound(container)] == ["delivered", "delivered"]
    with container.session_factory() as session:
        assert audit.verify(session).ok


def test_stop_through_a_signed_webhook_ends_reminders_with_one_confirmation(
        world: tuple[Container, TestClient, FixedClock], twilio_api: FakeTwilioApi) -> None:
    container, client, clock = world
    assert run_sweep(container).as_dict()["planned"] == 1  # a reminder is queued before the STOP arrives

    sms_reply(client, "STOP", "SM" + "d" * 32)
    sms_reply(client, "stop", "SM" + "e" * 32)
    sms_reply(client, "STOP", "SM" + "d" * 32)  # Twilio retrying the first one
    dispatch(container)
    for _day in range(3):
        clock.advance(timedelta(days=1))
        run_sweep(container)
        dispatch(container)

    bodies = [m["Body"] for m in twilio_api.created() if m["To"] == PHONE]
    assert len(bodies) == 1 and "unsubscribed" in bodies[0]
    with container.session_factory() as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.address == PHONE)).one()
        assert point.opted_out_method == "keyword"
        statuses = set(session.scalars(select(OutboxItem.status)))
        assert "sent" not in statuses  # the queued reminder was stopped at the gate, not sent


def test_telegram_binding_reminder_reply_and_answer(world: tuple[Container, TestClient, FixedClock],
                                                     twilio_api: FakeTwilioApi,
                                                     telegram_api: FakeTelegramApi) -> None:
    container, client, clock = world
    # 1. the binding link goes out by SMS to the registered phone, through the dispatcher and the gate
    queue_invite(container, "C1")
    assert dispatch(container).get("sent") == 1
    [invite] = twilio_api.created()
    link = next(word for word in invite["Body"].split() if word.startswith("https://t.me/"))
    assert link.startswith(f"https://t.me/{telegram_api.username}?start=")
    token = parse_qs(urlsplit(link).query)["start"][0]

    # 2. the cardholder opens it in Telegram: the chat is bound and confirmed
    start = telegram_fixture("update_start_token.json")
    start["message"]["text"] = f"/start {token}"
    assert post_telegram(client, start).status_code == 200
    assert len(telegram_api.texts_to(CHAT)) == 1 and "linked" in telegram_api.texts_to(CHAT)[0]

    # 3. they prefer Telegram from now on: the next reminder goes there
    with transaction(container.session_factory) as session:
        session.execute(update(ContactPoint).values(preferred=ContactPoint.channel == "telegram"))
    clock.advance(timedelta(days=1))
    assert run_sweep(container).as_dict()["planned"] == 1
    assert dispatch(container).get("sent") == 1
    reminder = telegram_api.texts_to(CHAT)[1]
    tg_row = outbound(container)[-1]
    assert (tg_row.channel, tg_row.purpose, tg_row.status, tg_row.text) == ("telegram", "reminder", "sent", reminder)
    assert tg_row.provider_message_id == f"tg:{CHAT}:102"

    # 4. a reply in the chat is answered in the chat
    reply = telegram_fixture("update_text.json")
    reply["message"]["text"] = "中文 and English 😀"
    assert post_telegram(client, reply).status_code == 200
    # The message holds Chinese, so the answer is in Chinese (language follows the message), for this en profile.
    assert "请问有什么可以帮您？" in telegram_api.texts_to(CHAT)[2]
    assert [m.channel for m in outbound(container)] == ["sms", "telegram", "telegram", "telegram"]
    assert len(twilio_api.created()) == 1  # nothing else went by SMS
