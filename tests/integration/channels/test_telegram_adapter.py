"""The Telegram adapter: python-telegram-bot's real Bot against the loopback fake of the Bot API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_runtime import ChatSpacer, TelegramRuntime
from core.enums import Channel
from core.ports import OutboundText, TransientChannelError
from tests.fakes.loopback import CLIENT_TIMEOUT_S
from tests.fakes.telegram_api import FakeTelegramApi
from tests.integration.channels.support import BOT_TOKEN

CHAT = 5550001234


@pytest.fixture
def telegram(telegram_api: FakeTelegramApi) -> Iterator[TelegramChannel]:
    channel = TelegramChannel(TelegramRuntime(BOT_TOKEN, base_url=telegram_api.bot_base_url, request_timeout_s=CLIENT_TIMEOUT_S))
    yield channel
    channel.close()


def text(body: str = "Hello from Accord Bank", chat: int | str = CHAT) -> OutboundText:
    return OutboundText(Channel.TELEGRAM, str(chat), body, message_id=9, idempotency_key="reply:9")


def test_a_send_reaches_the_bot_api_and_returns_a_chat_scoped_id(telegram: TelegramChannel,
                                                                 telegram_api: FakeTelegramApi) -> None:
    result = telegram.send(text("中文 + English + 😀"))

    assert result.accepted and result.provider_message_id == f"tg:{CHAT}:101"
    assert telegram_api.texts_to(CHAT) == ["中文 + English + 😀"]
    paths = [r.path for r in telegram_api.requests]
    assert paths == [f"/bot{BOT_TOKEN}/getMe", f"/bot{BOT_TOKEN}/sendMessage"]  # getMe once, at first use
    assert telegram.lookup(result.provider_message_id) == "delivered"
    assert telegram.lookup("SM123") is None


def test_sends_to_one_chat_are_spaced_a_second_apart(telegram: TelegramChannel,
                                                     telegram_api: FakeTelegramApi) -> None:
    for _ in range(3):
        assert telegram.send(text()).accepted
    arrivals = [r.at for r in telegram_api.requests_to("/sendMessage")]
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert all(gap >= 0.95 for gap in gaps), gaps  # a lower bound the spacer guarantees, not a speed claim


def test_the_spacer_waits_only_for_the_same_chat() -> None:
    now = [100.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    spacer = ChatSpacer(1.0, monotonic=lambda: now[0], sleep=sleep)

    async def scenario() -> None:
        await spacer.wait_turn(1)
        await spacer.wait_turn(2)  # another chat: no wait
        now[0] += 0.25
        await spacer.wait_turn(1)  # 0.25 s after the first: waits the remaining 0.75 s
        now[0] += 5
        await spacer.wait_turn(1)  # long after: no wait

    asyncio.run(scenario())
    assert slept == [0.75]


def test_the_spacer_forgets_idle_chats() -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    spacer = ChatSpacer(1.0, monotonic=lambda: now[0], sleep=sleep, max_tracked=10)

    async def scenario() -> None:
        for chat in range(50):
            now[0] += 2
            await spacer.wait_turn(chat)

    asyncio.run(scenario())
    assert len(spacer._last) <= 11


@pytest.mark.parametrize(("fault", "code"), [("403", "telegram_forbidden"), ("400", "telegram_chat_not_found")])
def test_a_blocked_bot_or_missing_chat_is_permanent(telegram: TelegramChannel, telegram_api: FakeTelegramApi,
                                                    fault: str, code: str) -> None:
    telegram_api.fail_next(fault)
    result = telegram.send(text())
    assert (result.accepted, result.permanent, result.error_code) == (False, True, code)


@pytest.mark.parametrize("fault", ["502", "timeout"])
def test_server_errors_and_timeouts_are_transient(telegram: TelegramChannel, telegram_api: FakeTelegramApi,
                                                  fault: str) -> None:
    telegram_api.fail_next(fault)
    with pytest.raises(TransientChannelError):
        telegram.send(text())
    assert telegram.send(text(chat=CHAT + 1)).accepted


def test_a_429_is_transient_with_telegrams_retry_after(telegram: TelegramChannel,
                                                       telegram_api: FakeTelegramApi) -> None:
    telegram_api.fail_next("429")
    with pytest.raises(TransientChannelError) as caught:
        telegram.send(text())
    assert caught.value.retry_after_s == 7.0


def test_a_wrong_token_is_retried_not_blamed_on_the_chat(telegram_api: FakeTelegramApi) -> None:
    channel = TelegramChannel(TelegramRuntime("1:wrong", base_url=telegram_api.bot_base_url))
    try:
        with pytest.raises(TransientChannelError, match="token"):
            channel.send(text())
    finally:
        channel.close()


@pytest.mark.parametrize(("address", "body", "code"), [("@someone", "hi", "invalid_chat_id"),
                                                       (str(CHAT), " ", "empty_text"),
                                                       (str(CHAT), "x" * 4097, "text_too_long")])
def test_unsendable_messages_are_refused_without_calling_telegram(telegram: TelegramChannel,
                                                                  telegram_api: FakeTelegramApi, address: str,
                                                                  body: str, code: str) -> None:
    result = telegram.send(text(body, chat=address))
    assert result.permanent and result.error_code == code
    assert telegram_api.requests == []


def test_a_blocking_call_from_the_loop_thread_is_refused(telegram: TelegramChannel) -> None:
    async def nested() -> None:
        telegram.runtime.run(asyncio.sleep(0))

    with pytest.raises(RuntimeError, match="deadlock"):
        telegram.runtime.run(nested())
