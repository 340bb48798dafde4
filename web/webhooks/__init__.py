"""Provider webhooks: Twilio (inbound SMS, delivery status) and Telegram (updates).

Every endpoint authenticates the provider before acting (Twilio's request signature, Telegram's secret token),
bounds the body size, and answers malformed input with a 4xx naming the problem, never a 5xx.
"""

from __future__ import annotations

from fastapi import FastAPI

from accord.bootstrap import Container
from bot.channels.telegram_handlers import install_handlers
from web.webhooks import telegram, twilio


def mount(app: FastAPI, container: Container) -> None:
    app.include_router(twilio.router)
    app.include_router(telegram.router)
    install_handlers(container)  # Telegram's Application feeds the same pipeline as the webhook
