"""Telegram through python-telegram-bot: the synchronous channel port over the async Bot API client.

A send runs on the runtime's own loop: it waits for its turn in the chat (one message a second per chat), passes
PTB's AIORateLimiter (about 30 a second per bot), then calls sendMessage. Telegram has no delivery receipts: the
Message returned by sendMessage means Telegram stored it in the chat, so `lookup` reports those ids delivered.

Provider ids are "tg:<chat id>:<message id>" because Telegram numbers messages per chat, while Accord's
provider_message_id is unique across all channels.
"""

from __future__ import annotations

import concurrent.futures
import warnings
from datetime import timedelta
from typing import Any

import structlog
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from accord.settings import Settings
from bot.channels.telegram_runtime import TelegramRuntime
from core.enums import Channel
from core.ports import OutboundText, SendResult, TransientChannelError

log = structlog.get_logger("accord.telegram")

PROVIDER_PREFIX = "tg:"
MAX_TEXT_CHARS = 4096  # Bot API limit for one text message


def provider_id(chat_id: int | str, message_id: int | str) -> str:
    return f"{PROVIDER_PREFIX}{chat_id}:{message_id}"


class TelegramChannel:
    channel = Channel.TELEGRAM
    name = "telegram"

    def __init__(self, runtime: TelegramRuntime, *, send_timeout_s: float | None = None) -> None:
        self.runtime = runtime
        # Worst case a send waits for its chat's turn, then for the bot-wide limiter, then for the network.
        self._timeout = send_timeout_s or runtime.request_timeout_s * 3 + runtime.spacer.interval_s * 5

    def send(self, message: OutboundText) -> SendResult:
        try:
            chat_id = int(message.address)
        except ValueError:
            return SendResult(None, False, error_code="invalid_chat_id",
                              error_detail="a Telegram address must be a numeric chat id", permanent=True)
        if not message.text.strip():
            return SendResult(None, False, error_code="empty_text", error_detail="empty message", permanent=True)
        if len(message.text) > MAX_TEXT_CHARS:
            return SendResult(None, False, error_code="text_too_long",
                              error_detail=f"longer than Telegram's {MAX_TEXT_CHARS} characters", permanent=True)
        try:
            sent = self.runtime.run(self._send(chat_id, message.text), timeout=self._timeout)
        except RetryAfter as exc:
            raise TransientChannelError("telegram rate limit (429)", retry_after_s=_retry_after(exc)) from exc
        except Forbidden as exc:  # the person blocked the bot or deleted their account
            return self._refused("telegram_forbidden", exc)
        except (BadRequest, ChatMigrated) as exc:  # chat not found, text refused: the same send would fail again
            code = "telegram_chat_not_found" if "chat not found" in str(exc).lower() else "telegram_bad_request"
            return self._refused(code, exc)
        except InvalidToken as exc:  # our credentials, not the message: retry once the token is fixed
            raise TransientChannelError("telegram refused the bot token") from exc
        except (NetworkError, TelegramError) as exc:  # timeouts, 5xx, unparseable answers
            raise TransientChannelError(f"telegram unreachable: {type(exc).__name__}") from exc
        except concurrent.futures.TimeoutError as exc:
            raise TransientChannelError("telegram send timed out") from exc
        return SendResult(provider_message_id=provider_id(chat_id, sent.message_id), accepted=True)

    async def _send(self, chat_id: int, text: str) -> Any:
        await self.runtime.ensure_initialized()
        await self.runtime.spacer.wait_turn(chat_id)
        return await self.runtime.bot.send_message(chat_id=chat_id, text=text)

    def _refused(self, code: str, exc: TelegramError) -> SendResult:
        log.warning("telegram.refused", error_code=code)
        return SendResult(provider_message_id=None, accepted=False, error_code=code,
                          error_detail=str(exc)[:200], permanent=True)

    def lookup(self, provider_message_id: str) -> str | None:
        """Telegram keeps no delivery status; an id it issued is a message stored in the chat."""
        parts = provider_message_id.split(":")
        if len(parts) == 3 and parts[0] + ":" == PROVIDER_PREFIX and all(p.lstrip("-").isdigit() for p in parts[1:]):
            return "delivered"
        return None

    def close(self) -> None:
        self.runtime.close()

    def __repr__(self) -> str:
        return "TelegramChannel()"


def telegram_channel(container: Any) -> TelegramChannel | None:
    """The live Telegram channel wired into a container, or None when Telegram runs on the sandbox."""
    adapter = container.extras.get("channels", {}).get(Channel.TELEGRAM)
    return adapter if isinstance(adapter, TelegramChannel) else None


def from_settings(settings: Settings) -> TelegramChannel:
    assert settings.telegram_bot_token is not None
    runtime = TelegramRuntime(settings.telegram_bot_token.get_secret_value(), base_url=settings.telegram_api_base)
    return TelegramChannel(runtime)


def _retry_after(exc: RetryAfter) -> float:
    # PTB 22 returns int or timedelta depending on PTB_TIMEDELTA, and warns about the int; accept both quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
