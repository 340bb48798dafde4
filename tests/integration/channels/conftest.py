"""Fixtures for the channel tests: the loopback provider fakes and an Accord wired to them by the bootstrap."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from core.clock import FixedClock
from core.ports import DialogueReply
from tests.fakes.dialogue import ScriptedDialogue
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.channels import support
from web.app import create_app


@pytest.fixture
def twilio_api() -> Iterator[FakeTwilioApi]:
    with FakeTwilioApi(support.ACCOUNT_SID, support.AUTH_TOKEN) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def telegram_api() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi(support.BOT_TOKEN) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def live_settings(settings: Settings, twilio_api: FakeTwilioApi, telegram_api: FakeTelegramApi) -> Settings:
    return Settings(  # type: ignore[call-arg]
        accord_env="test", database_url=settings.database_url, accord_config_dir=settings.accord_config_dir,
        accord_public_url=support.PUBLIC_URL,
        twilio_account_sid=support.ACCOUNT_SID, twilio_auth_token=support.AUTH_TOKEN,
        twilio_messaging_service_sid=support.MESSAGING_SERVICE_SID, twilio_api_base=twilio_api.base_url,
        telegram_bot_token=support.BOT_TOKEN, telegram_webhook_secret=support.WEBHOOK_SECRET,
        telegram_bot_username=telegram_api.username, telegram_api_base=telegram_api.bot_base_url,
        _env_file=None,
    )


@pytest.fixture
def dialogue() -> ScriptedDialogue:
    return ScriptedDialogue(replies=[DialogueReply("bot.greeting", {})])


@pytest.fixture
def live(live_settings: Settings, clock: FixedClock, dialogue: ScriptedDialogue) -> Iterator[Container]:
    """Accord with the real Twilio and Telegram adapters, pointed at the fakes by settings alone."""
    container = bootstrap(live_settings, clock=clock, dialogue=dialogue)
    try:
        yield container
    finally:
        container.close()


@pytest.fixture
def client(live: Container) -> Iterator[TestClient]:
    # Only the webhook routers: the end-to-end tests build the whole app, so its registration is covered there.
    with TestClient(create_app(live, modules=("web.webhooks",))) as test_client:
        yield test_client
