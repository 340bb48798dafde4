"""Telegram webhook mode on real databases: the real PTB Application processes updates posted to Accord, and
replies leave through the gate and the real Bot client to the loopback Bot API fake."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from bot import binding
from core.clock import FixedClock
from storage.db import transaction
from storage.tables import AuditEvent, BindingToken, ContactPoint, Message
from tests import builders
from tests.fakes.gate import AllowingGate
from tests.fakes.telegram_api import FakeTelegramApi
from tests.integration.channels.support import KEYWORDS, post_telegram, telegram_fixture
from web.app import create_app

CHAT = 5550001234
PHONE = "+8613800138000"


@pytest.fixture
def app(live: Container, clock: FixedClock) -> Container:
    live.extras["gate"] = AllowingGate(live.session_factory, clock, live.extras["channels"])
    with transaction(live.session_factory) as session:
        builders.cardholder(session, clock.now(), external_id="C-ZH", language="zh", timezone="Asia/Shanghai",
                            jurisdiction="CN", phone=PHONE, chat_id=None)
    return live


def text_update(text: str, update_id: int = 1, message_id: int = 42, chat_id: int = CHAT) -> dict[str, Any]:
    update = telegram_fixture("update_text.json")
    update["update_id"] = update_id
    update["message"].update(message_id=message_id, text=text)
    update["message"]["chat"]["id"] = chat_id
    update["message"]["from"]["id"] = chat_id
    return update


def bind_chat(app: Container, clock: FixedClock, chat_id: int = CHAT) -> None:
    with transaction(app.session_factory) as session:
        holder_id = session.scalars(select(ContactPoint.cardholder_id).where(ContactPoint.address == PHONE)).one()
        binding.bind(session, holder_id, chat_id=chat_id, at=clock.now(), method="test")


def inbound_rows(app: Container) -> list[Message]:
    with app.session_factory() as session:
        return list(session.scalars(select(Message).where(Message.direction == "inbound").order_by(Message.id)))


def test_a_bound_chat_message_is_stored_and_answered(app: Container, client: TestClient, clock: FixedClock,
                                                     telegram_api: FakeTelegramApi) -> None:
    bind_chat(app, clock)
    response = post_telegram(client, telegram_fixture("update_text.json"))

    assert response.status_code == 200
    [row] = inbound_rows(app)
    assert row.text == "我下周五可以还款吗？" and row.provider_message_id == f"tg:{CHAT}:42"
    assert row.cardholder_id is not None and row.channel == "telegram"
    assert telegram_api.texts_to(CHAT) == ["[bot.greeting]"]
    with app.session_factory() as session:
        reply = session.scalars(select(Message).where(Message.direction == "outbound")).one()
        assert reply.provider_message_id == f"tg:{CHAT}:101" and reply.status == "sent"


def test_a_redelivered_update_is_processed_once(app: Container, client: TestClient, clock: FixedClock,
                                                telegram_api: FakeTelegramApi) -> None:
    bind_chat(app, clock)
    for _ in range(3):
        assert post_telegram(client, text_update("hello")).status_code == 200
    assert len(inbound_rows(app)) == 1
    assert len(telegram_api.texts_to(CHAT)) == 1


def test_emoji_and_mixed_scripts_round_trip(app: Container, client: TestClient, clock: FixedClock) -> None:
    bind_chat(app, clock)
    text = "中文 and English 😀👍🏽 ñ"
    assert post_telegram(client, text_update(text)).status_code == 200
    assert inbound_rows(app)[0].text == text


@pytest.mark.parametrize("secret", [None, "", "wrong", "s3cret-Token_for-webhooks-012345678", "ü-not-ascii"])
def test_a_missing_or_wrong_secret_is_refused(app: Container, client: TestClient, clock: FixedClock,
                                              secret: str | None) -> None:
    bind_chat(app, clock)
    headers_secret = secret.encode("utf-8") if secret else secret  # raw bytes on the wire
    assert post_telegram(client, text_update("hello"), secret=headers_secret).status_code == 403
    assert inbound_rows(app) == []


def test_an_unbound_chat_is_stored_but_gets_no_reply(app: Container, client: TestClient,
                                                     telegram_api: FakeTelegramApi) -> None:
    assert post_telegram(client, text_update("what do I owe?")).status_code == 200
    [row] = inbound_rows(app)
    assert row.cardholder_id is None and row.from_address == str(CHAT)
    assert telegram_api.sent == []


def test_group_chats_and_edits_are_ignored(app: Container, client: TestClient, clock: FixedClock,
                                           telegram_api: FakeTelegramApi) -> None:
    bind_chat(app, clock)
    assert post_telegram(client, telegram_fixture("update_group_text.json")).status_code == 200
    assert post_telegram(client, telegram_fixture("update_edited_message.json")).status_code == 200
    assert inbound_rows(app) == [] and telegram_api.sent == []


def test_slash_stop_opts_the_chat_out_with_one_confirmation(app: Container, client: TestClient, clock: FixedClock,
                                                            telegram_api: FakeTelegramApi) -> None:
    bind_chat(app, clock)
    assert post_telegram(client, telegram_fixture("update_stop.json")).status_code == 200
    again = telegram_fixture("update_stop.json")
    again["update_id"] += 1
    again["message"]["message_id"] += 1
    assert post_telegram(client, again).status_code == 200

    with app.session_factory() as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.address == str(CHAT))).one()
        assert point.opted_out_at is not None
    assert telegram_api.texts_to(CHAT) == [f"[{KEYWORDS.opt_out.reply_template}]"]


def test_help_gets_the_help_text(app: Container, client: TestClient, clock: FixedClock,
                                 telegram_api: FakeTelegramApi) -> None:
    bind_chat(app, clock)
    assert post_telegram(client, text_update("/help")).status_code == 200
    assert telegram_api.texts_to(CHAT) == [f"[{KEYWORDS.help.reply_template}]"]


def test_malformed_bodies_get_a_4xx(app: Container, client: TestClient) -> None:
    cases = [
        (b"not json", 400, "not JSON"),
        (b"\xff\xfe{}", 400, "UTF-8"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"update_id": "7"}', 400, "update_id"),
        (b'{"update_id": true}', 400, "update_id"),
        (b"[" * 100_000 + b"]" * 100_000, 400, "nested"),
        (b'{"update_id": 1, "message": {"message_id": 1, "date": "soon", "chat": 5}}', 400, "not a Telegram update"),
        (b'{"update_id": 1, "pad": "' + b"x" * 300_000 + b'"}', 413, "larger than"),
    ]
    for body, status, words in cases:
        response = post_telegram(client, body)
        assert response.status_code == status, (body[:40], response.text)
        assert words in response.json()["detail"]


def test_an_update_the_pipeline_refuses_is_acknowledged_not_retried(app: Container, client: TestClient,
                                                                    clock: FixedClock) -> None:
    bind_chat(app, clock)
    assert post_telegram(client, text_update("nul \x00 inside")).status_code == 200
    assert post_telegram(client, text_update("hi", message_id=2**60)).status_code == 200
    assert inbound_rows(app) == []


# --- binding -----------------------------------------------------------------------------------------------------

def issue_link(app: Container, clock: FixedClock, ttl: timedelta = binding.DEFAULT_TTL) -> str:
    with transaction(app.session_factory) as session:
        invite = binding.issue(session, "C-ZH", bot_username="accord_test_bot", at=clock.now(), ttl=ttl)
    return invite.link.split("start=", 1)[1]


def start_update(token: str, update_id: int = 10, message_id: int = 41) -> dict[str, Any]:
    update = telegram_fixture("update_start_token.json")
    update["update_id"] = update_id
    update["message"]["message_id"] = message_id
    update["message"]["text"] = f"/start {token}"
    return update


def telegram_points(app: Container) -> list[ContactPoint]:
    with app.session_factory() as session:
        return list(session.scalars(select(ContactPoint).where(ContactPoint.channel == "telegram")))


def test_a_deep_link_binds_the_chat_once_and_the_token_is_not_stored(app: Container, client: TestClient,
                                                                    clock: FixedClock,
                                                                    telegram_api: FakeTelegramApi) -> None:
    token = issue_link(app, clock)
    assert post_telegram(client, start_update(token)).status_code == 200

    [point] = telegram_points(app)
    assert point.address == str(CHAT) and point.verified and point.consent_basis == "cardholder_initiated"
    assert telegram_api.texts_to(CHAT) == ["[binding.confirmed]"]
    with app.session_factory() as session:
        row = session.scalars(select(BindingToken)).one()
        assert row.used_at == clock.now() and row.used_by_address == str(CHAT)
        assert row.token_hash == binding.hash_token(token) and token not in row.token_hash
        stored = session.scalars(select(Message.text).where(Message.direction == "inbound")).all()
        assert stored == ["/start [binding link]"]  # the token never lands in the message log
        assert session.scalar(select(func.count()).select_from(AuditEvent)
                              .where(AuditEvent.kind == "binding.bound")) == 1

    # the same update again, and the same link from another chat, change nothing
    assert post_telegram(client, start_update(token)).status_code == 200
    other = start_update(token, update_id=11, message_id=1)
    other["message"]["chat"]["id"] = other["message"]["from"]["id"] = 777
    assert post_telegram(client, other).status_code == 200
    assert [p.address for p in telegram_points(app)] == [str(CHAT)]
    assert telegram_api.texts_to(777) == []


def test_an_expired_or_unknown_link_binds_nothing(app: Container, client: TestClient, clock: FixedClock) -> None:
    token = issue_link(app, clock, ttl=timedelta(hours=1))
    clock.advance(timedelta(hours=1))
    assert post_telegram(client, start_update(token)).status_code == 200
    assert post_telegram(client, start_update("made-up-token", update_id=12, message_id=50)).status_code == 200
    assert telegram_points(app) == []
    assert len(inbound_rows(app)) == 2  # both attempts are on record


def test_sharing_ones_own_registered_phone_binds_the_chat(app: Container, client: TestClient,
                                                          telegram_api: FakeTelegramApi) -> None:
    assert post_telegram(client, telegram_fixture("update_contact.json")).status_code == 200
    [point] = telegram_points(app)
    assert point.address == str(CHAT) and point.verified
    assert telegram_api.texts_to(CHAT) == ["[binding.confirmed]"]


def test_a_contact_card_of_someone_else_or_an_unknown_phone_binds_nothing(app: Container,
                                                                          client: TestClient) -> None:
    someone_else = telegram_fixture("update_contact.json")
    someone_else["message"]["contact"]["user_id"] = 999
    no_user = telegram_fixture("update_contact.json")
    no_user["update_id"] += 1
    no_user["message"]["message_id"] += 1
    del no_user["message"]["contact"]["user_id"]
    unknown_phone = telegram_fixture("update_contact.json")
    unknown_phone["update_id"] += 2
    unknown_phone["message"]["message_id"] += 2
    unknown_phone["message"]["contact"]["phone_number"] = "8613900000000"
    for update in (someone_else, no_user, unknown_phone):
        assert post_telegram(client, update).status_code == 200
    assert telegram_points(app) == []


def test_a_chat_bound_to_one_cardholder_cannot_be_claimed_by_another(app: Container, client: TestClient,
                                                                     clock: FixedClock) -> None:
    with transaction(app.session_factory) as session:
        builders.cardholder(session, clock.now(), external_id="C-OTHER", phone="+8613700137000", chat_id=str(CHAT))
    token = issue_link(app, clock)
    assert post_telegram(client, start_update(token)).status_code == 200
    [point] = telegram_points(app)
    with app.session_factory() as session:
        other_id = session.scalars(select(ContactPoint.cardholder_id)
                                   .where(ContactPoint.address == "+8613700137000")).one()
        assert point.cardholder_id == other_id
        assert session.scalars(select(BindingToken.used_at)).one() is None


def test_an_empty_configured_secret_accepts_nothing(live_settings: Settings, clock: FixedClock) -> None:
    blank = live_settings.model_copy(update={"telegram_webhook_secret": SecretStr("")})
    container = bootstrap(blank, clock=clock)
    try:
        with TestClient(create_app(container, modules=("web.webhooks",))) as client:
            assert post_telegram(client, text_update("hello"), secret=None).status_code == 403
            assert post_telegram(client, text_update("hello"), secret="").status_code == 403
    finally:
        container.close()
