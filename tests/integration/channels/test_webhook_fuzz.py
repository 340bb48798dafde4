"""Fuzzing both webhooks with hypothesis: whatever arrives, Accord answers with a 2xx or a 4xx, never a 5xx.

Half the cases are hostile traffic (random bytes, headers, signatures); half are correctly signed or carry the
right secret, so the bodies reach the parsers, the inbound pipeline, binding, the real gate and the adapters.
Runs on SQLite only, with the per-chat Telegram spacing off so thousands of replies do not wait a second each.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from bot.channels.sandbox import SandboxChannel
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_runtime import TelegramRuntime
from core.clock import FixedClock
from core.enums import Channel
from core.ports import DialogueReply
from storage.db import transaction
from tests import builders
from tests.conftest import empty_all_tables
from tests.fakes.dialogue import ScriptedDialogue
from tests.fakes.telegram_api import FakeTelegramApi
from tests.integration.channels import support
from web.app import create_app

pytestmark = pytest.mark.slow

CASES = int(os.environ.get("ACCORD_FUZZ_CASES", "2500"))  # per test below; four tests make 10,000
PHONE = "+14155550123"
CHAT = 5550001234
FUZZ = settings(max_examples=CASES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)  # encodable as UTF-8
json_leaf = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | text
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4)
                          | st.dictionaries(text, inner, max_size=4), max_leaves=12)


@pytest.fixture
def fuzz_app(_migrated_databases: dict[str, str], config_dir: Any) -> Iterator[TestClient]:
    url = _migrated_databases["sqlite"]
    clock = FixedClock(datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    with FakeTelegramApi(support.BOT_TOKEN) as telegram_api:
        live = Settings(  # type: ignore[call-arg]
            accord_env="test", database_url=url, accord_config_dir=config_dir, accord_public_url=support.PUBLIC_URL,
            twilio_account_sid=support.ACCOUNT_SID, twilio_auth_token=support.AUTH_TOKEN,
            telegram_bot_token=support.BOT_TOKEN, telegram_webhook_secret=support.WEBHOOK_SECRET,
            telegram_bot_username=telegram_api.username, telegram_api_base=telegram_api.bot_base_url, _env_file=None,
        )
        runtime = TelegramRuntime(support.BOT_TOKEN, base_url=telegram_api.bot_base_url, per_chat_interval_s=0)
        channels = {Channel.SMS: SandboxChannel(Channel.SMS), Channel.TELEGRAM: TelegramChannel(runtime)}
        dialogue = ScriptedDialogue(replies=[DialogueReply("dialogue.how_can_help", {})])
        container: Container = bootstrap(live, clock=clock, channels=channels, dialogue=dialogue)
        with transaction(container.session_factory) as session:
            builders.cardholder(session, clock.now(), phone=PHONE, chat_id=str(CHAT))
        try:
            with TestClient(create_app(container, modules=("web.webhooks",)), raise_server_exceptions=False) as client:
                yield client
        finally:
            container.close()
            empty_all_tables(url)


def no_5xx(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])


# --- Twilio --------------------------------------------------------------------------------------------------------

TWILIO_KEYS = sorted(support.twilio_fixture("inbound_sms.txt")) + ["MessageStatus", "ErrorCode"]
twilio_value = text | st.sampled_from([PHONE, "SM" + "a" * 32, "delivered", "failed", "21610", "STOP", "", "\x00"])


@st.composite
def twilio_form(draw: st.DrawFn) -> dict[str, str]:
    base = support.twilio_fixture(draw(st.sampled_from(["inbound_sms.txt", "status_delivered.txt",
                                                         "status_failed_21610.txt"])), From=PHONE)
    for key in draw(st.lists(st.sampled_from(TWILIO_KEYS) | text, max_size=5)):
        if draw(st.booleans()):
            base[key] = draw(twilio_value)
        else:
            base.pop(key, None)
    return base


def test_twilio_hostile_requests_never_get_a_5xx(fuzz_app: TestClient) -> None:
    @FUZZ
    @given(path=st.sampled_from(["/webhooks/twilio/sms", "/webhooks/twilio/status"]),
           body=st.binary(max_size=300) | twilio_form().map(lambda f: urlencode(f).encode("utf-8")),
           content_type=st.sampled_from(["application/x-www-form-urlencoded", "application/json", "text/plain",
                                         "application/x-www-form-urlencoded; charset=latin-1", ""]),
           signature=st.none() | st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=40))
    def check(path: str, body: bytes, content_type: str, signature: str | None) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        no_5xx(fuzz_app.post(path, content=body, headers=headers))

    check()


def test_twilio_signed_requests_never_get_a_5xx(fuzz_app: TestClient) -> None:
    @FUZZ
    @given(path=st.sampled_from(["/webhooks/twilio/sms", "/webhooks/twilio/status"]), form=twilio_form())
    def check(path: str, form: dict[str, str]) -> None:
        no_5xx(support.post_twilio(fuzz_app, path, form))

    check()


# --- Telegram ------------------------------------------------------------------------------------------------------

TELEGRAM_FIXTURES = ["update_text.json", "update_start_token.json", "update_contact.json", "update_stop.json",
                     "update_edited_message.json", "update_group_text.json"]
MESSAGE_FIELDS = ["text", "message_id", "date", "chat", "from", "entities", "contact"]
telegram_value = json_value | st.sampled_from([CHAT, str(CHAT), "/start abc", "/stop", "STOP", "/help", PHONE,
                                               {"id": CHAT, "type": "private"}, {"phone_number": "12125550123",
                                                                                 "user_id": CHAT}])


@st.composite
def telegram_update(draw: st.DrawFn) -> dict[str, Any]:
    update = support.telegram_fixture(draw(st.sampled_from(TELEGRAM_FIXTURES)))
    update["update_id"] = draw(st.integers(0, 2**62))
    message = update.get("message") or update.get("edited_message")
    if draw(st.booleans()):
        message["message_id"] = draw(st.integers(1, 2**31))  # a fresh message, not a redelivery
    for field in draw(st.lists(st.sampled_from(MESSAGE_FIELDS), max_size=3)):
        if draw(st.booleans()):
            message[field] = draw(telegram_value)
        else:
            message.pop(field, None)
    return update


def test_telegram_hostile_requests_never_get_a_5xx(fuzz_app: TestClient) -> None:
    @FUZZ
    @given(body=st.binary(max_size=300) | telegram_update().map(lambda u: json.dumps(u).encode("utf-8")),
           secret=st.none() | st.sampled_from(["", "wrong", support.WEBHOOK_SECRET + "x"])
           | st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=255), max_size=40))
    def check(body: bytes, secret: str | None) -> None:
        wire = secret.encode("latin-1") if secret is not None else None
        no_5xx(support.post_telegram(fuzz_app, body, secret=wire))

    check()


def test_telegram_authenticated_updates_never_get_a_5xx(fuzz_app: TestClient) -> None:
    @FUZZ
    @given(update=telegram_update() | st.dictionaries(text, json_value, max_size=5).map(
        lambda d: {**d, "update_id": 1}) | json_value.map(lambda v: {"update_id": 2, "message": v}))
    def check(update: dict[str, Any]) -> None:
        no_5xx(support.post_telegram(fuzz_app, json.dumps(update).encode("utf-8")))

    check()
