"""`accord channels ...` and `accord telegram ...` as an operator runs them, against the loopback fakes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from accord.bootstrap import Container
from accord.cli.main import app
from bot import binding
from storage.db import transaction
from storage.tables import BindingToken, ContactPoint, Message, OutboxItem
from tests import builders
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.channels import support

NOW = "2026-11-23T15:00:00Z"
CHAT = 5550001234
PROJECT = Path(__file__).resolve().parents[3]


def channel_env(db_url: str, config_dir: Path, twilio_api: FakeTwilioApi, telegram_api: FakeTelegramApi,
                **extra: str) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url, "ACCORD_ENV": "test", "ACCORD_CONFIG_DIR": str(config_dir),
        "ACCORD_PUBLIC_URL": support.PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": support.ACCOUNT_SID, "TWILIO_AUTH_TOKEN": support.AUTH_TOKEN,
        "TWILIO_MESSAGING_SERVICE_SID": support.MESSAGING_SERVICE_SID, "TWILIO_API_BASE": twilio_api.base_url,
        "TELEGRAM_BOT_TOKEN": support.BOT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": support.WEBHOOK_SECRET,
        "TELEGRAM_API_BASE": telegram_api.bot_base_url, **extra,
    }


@pytest.fixture
def env(db_url: str, config_dir: Path, twilio_api: FakeTwilioApi, telegram_api: FakeTelegramApi) -> dict[str, str]:
    return channel_env(db_url, config_dir, twilio_api, telegram_api)


@pytest.fixture
def accord(env: dict[str, str]) -> Callable[..., Result]:
    def run(*args: str, **overrides: str) -> Result:
        return CliRunner(env={**env, **overrides}).invoke(app, list(args))

    return run


def test_urls_lists_each_providers_webhook_and_which_channels_are_live(accord: Callable[..., Result],
                                                                       container: Container) -> None:
    result = accord("channels", "urls")
    assert result.exit_code == 0, result.output
    assert "POST https://accord.example.test/webhooks/twilio/sms" in result.output
    assert "POST https://accord.example.test/webhooks/twilio/status" in result.output
    assert "POST https://accord.example.test/webhooks/telegram" in result.output
    assert "SMS via twilio" in result.output and "Telegram via telegram" in result.output
    assert support.AUTH_TOKEN not in result.output and support.BOT_TOKEN not in result.output

    bare = accord("channels", "urls", TWILIO_AUTH_TOKEN="", TELEGRAM_BOT_TOKEN="", ACCORD_PUBLIC_URL="http://h:8000")
    assert "SMS via sandbox" in bare.output and "Telegram via sandbox" in bare.output
    assert "not https://" in bare.output


def test_register_telegram_webhook_sets_the_url_and_the_secret(accord: Callable[..., Result],
                                                                telegram_api: FakeTelegramApi,
                                                                container: Container) -> None:
    result = accord("channels", "register-telegram-webhook")
    assert result.exit_code == 0, result.output
    assert telegram_api.webhook["url"] == "https://accord.example.test/webhooks/telegram"
    assert telegram_api.webhook["secret_token"] == support.WEBHOOK_SECRET
    assert telegram_api.webhook["allowed_updates"] == '["message"]'


@pytest.mark.parametrize(("overrides", "words"), [
    ({"TELEGRAM_WEBHOOK_SECRET": "has spaces!"}, "must be 1-256 characters"),
    ({"TELEGRAM_BOT_TOKEN": ""}, "TELEGRAM_BOT_TOKEN"),
])
def test_register_telegram_webhook_refuses_a_bad_setup(accord: Callable[..., Result], container: Container,
                                                       telegram_api: FakeTelegramApi, overrides: dict[str, str],
                                                       words: str) -> None:
    result = accord("channels", "register-telegram-webhook", **overrides)
    assert result.exit_code == 1 and words in result.stderr
    assert telegram_api.webhook["url"] == ""


def test_invite_queues_a_one_time_link_by_sms(accord: Callable[..., Result], container: Container) -> None:
    with transaction(container.session_factory) as session:
        builders.cardholder(session, container.clock.now(), phone="+12125550123", chat_id=None)

    result = accord("telegram", "invite", "C1", "--ttl-hours", "12", "--now", NOW)

    assert result.exit_code == 0, result.output
    with container.session_factory() as session:
        row = session.scalars(select(OutboxItem)).one()
        token_row = session.scalars(select(BindingToken)).one()
    assert (row.channel, row.purpose, row.template_id, row.priority) == ("sms", "binding_link", "binding.link", 10)
    link = row.params["binding_url"]
    assert link.startswith("https://t.me/accord_test_bot?start=") and row.params["expires_hours"] == 12
    assert token_row.token_hash == binding.hash_token(link.split("start=")[1])
    assert (token_row.expires_at - token_row.created_at).total_seconds() == 12 * 3600

    missing = accord("telegram", "invite", "NOPE", "--now", NOW)
    assert missing.exit_code == 1 and "no cardholder with external id 'NOPE'" in missing.stderr


def test_poll_receives_updates_and_answers_until_interrupted(env: dict[str, str], container: Container,
                                                             telegram_api: FakeTelegramApi) -> None:
    with transaction(container.session_factory) as session:
        builders.cardholder(session, container.clock.now(), phone="+12125550123", chat_id=str(CHAT))
    telegram_api.webhook = {"url": "https://old.example/webhooks/telegram", "secret_token": "x"}
    process = subprocess.Popen([sys.executable, "-m", "accord.cli.main", "telegram", "poll"], cwd=PROJECT,
                               env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        while banner and "Polling Telegram" not in banner:
            banner = process.stdout.readline()
        assert "@accord_test_bot" in banner
        update = support.telegram_fixture("update_text.json")
        update["message"]["text"] = "HELP"
        telegram_api.queue_update(update)
        assert _eventually(lambda: len(telegram_api.texts_to(CHAT)) == 1)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Stopped polling." in output
    assert telegram_api.webhook["url"] == ""  # polling removed the webhook first
    with container.session_factory() as session:
        stored = session.scalars(select(Message.text).where(Message.direction == "inbound")).all()
        point = session.scalars(select(ContactPoint).where(ContactPoint.address == str(CHAT))).one()
    assert stored == ["HELP"] and point.opted_out_at is None


def _eventually(check: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()
