"""PTB handlers: turn Telegram updates into calls on Accord's synchronous TelegramInbound.

Only new messages in private chats are handled. Group chats are ignored (debts are never discussed where others
read), and so are edits (the original message was handled already). The database work runs in the loop's thread
pool so one slow reply never stalls other chats.

A webhook must not answer 200 for an update Accord failed to store, or Telegram would not retry it. PTB routes
handler exceptions to error handlers instead of the caller, so each handler records its failure in a context
variable that `TelegramRuntime.process` (the webhook's path) reads back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.channels.telegram import telegram_channel
from bot.channels.telegram_runtime import FAILURES
from bot.inbound import InboundRejected
from bot.telegram_inbound import ChatMessage, TelegramInbound

log = structlog.get_logger("accord.telegram.handlers")

ID_LIMIT = 2**53  # Telegram ids fit in 52 bits plus sign; anything larger is not from Telegram
PRIVATE_MESSAGE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
Callback = Callable[[Update, Any], Coroutine[Any, Any, None]]


def install_handlers(container: Any) -> None:
    """Attach Accord's handlers to the container's live Telegram Application, once (webhook and polling)."""
    channel = telegram_channel(container)
    if channel is None or channel.runtime.handlers_installed:
        return
    add_handlers(channel.runtime.application, TelegramInbound(container))
    channel.runtime.handlers_installed = True


def add_handlers(application: Application[Any, Any, Any, Any, Any, Any], inbound: TelegramInbound) -> None:
    application.add_handler(CommandHandler("start", _guarded(_on_start, inbound), filters=PRIVATE_MESSAGE,
                                           has_args=1))
    application.add_handler(MessageHandler(PRIVATE_MESSAGE & filters.CONTACT, _guarded(_on_contact, inbound)))
    application.add_handler(MessageHandler(PRIVATE_MESSAGE & filters.TEXT, _guarded(_on_text, inbound)))
    application.add_error_handler(_on_error)


def _guarded(work: Callable[[TelegramInbound, Update], Any], inbound: TelegramInbound) -> Callback:
    async def callback(update: Update, _context: Any) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, work, inbound, update)
        except InboundRejected as exc:  # the message itself is unusable: storing it again would fail again
            log.warning("telegram.rejected", reason=str(exc))
        except Exception as exc:
            failures = FAILURES.get()
            if failures is None:  # polling mode: no webhook caller to tell, PTB's error handler logs it
                raise
            failures.append(exc)

    return callback


def _chat_message(update: Update) -> ChatMessage:
    message = update.message
    assert message is not None
    for name, value in (("chat id", message.chat_id), ("message id", message.message_id)):
        if not isinstance(value, int) or not -ID_LIMIT < value < ID_LIMIT:
            raise InboundRejected(f"{name} is not a Telegram id")
    return ChatMessage(chat_id=message.chat_id, message_id=message.message_id,
                       from_user_id=message.from_user.id if message.from_user else None)


def _on_text(inbound: TelegramInbound, update: Update) -> None:
    assert update.message is not None and update.message.text is not None
    inbound.text(_chat_message(update), update.message.text)


def _on_start(inbound: TelegramInbound, update: Update) -> None:
    assert update.message is not None and update.message.text is not None
    token = update.message.text.split(maxsplit=1)[1].strip()
    inbound.start(_chat_message(update), token)


def _on_contact(inbound: TelegramInbound, update: Update) -> None:
    assert update.message is not None and update.message.contact is not None
    contact = update.message.contact
    inbound.contact(_chat_message(update), phone=contact.phone_number, contact_user_id=contact.user_id)


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("telegram.handler_failed", error=type(context.error).__name__, exc_info=context.error)
