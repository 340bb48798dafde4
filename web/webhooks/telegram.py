"""Telegram webhook mode inside Accord's own web app: `POST /webhooks/telegram`.

Telegram sends the secret given to setWebhook in X-Telegram-Bot-Api-Secret-Token; anything without it is refused
before the body is read. The update is parsed with PTB's own `Update.de_json` and processed on the Telegram
runtime's loop by the same Application handlers that polling uses. The answer waits for the handlers, so a 200
means the message is stored; on failure Telegram gets a 503 and delivers the update again.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Request, Response
from telegram import Update

from bot.channels.telegram import telegram_channel
from web.deps import ContainerDep
from web.webhooks.bodies import decode_text, read_body

log = structlog.get_logger("accord.webhooks.telegram")
router = APIRouter(prefix="/webhooks", tags=["webhooks"])

SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_UPDATE_BYTES = 256 * 1024


@router.post("/telegram")
async def telegram_update(request: Request, container: ContainerDep) -> Response:
    channel = telegram_channel(container)
    if channel is None:
        raise HTTPException(404, "Telegram is not configured")
    configured = container.settings.telegram_webhook_secret
    secret = configured.get_secret_value().encode("utf-8") if configured else b""
    given = request.headers.get(SECRET_HEADER, "").encode("latin-1")
    # Without a configured secret nothing can be authenticated, so nothing is accepted.
    if not secret or not hmac.compare_digest(given, secret):
        log.warning("telegram.bad_secret")
        raise HTTPException(403, "X-Telegram-Bot-Api-Secret-Token does not match")
    payload = _parse(decode_text(await read_body(request, MAX_UPDATE_BYTES)))
    try:
        update = Update.de_json(payload, channel.runtime.bot)
    except Exception as exc:  # PTB raises KeyError/TypeError/ValueError on shapes it cannot read
        raise HTTPException(400, f"not a Telegram update: {type(exc).__name__}") from exc
    try:
        await asyncio.wrap_future(channel.runtime.loop_thread.submit(channel.runtime.process(update)))
    except Exception as exc:
        log.error("telegram.update_failed", update_id=payload["update_id"], error=type(exc).__name__,
                  exc_info=True)
        raise HTTPException(503, "update not processed; Telegram will deliver it again") from exc
    return Response(status_code=200)


def _parse(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HTTPException(400, f"body is not JSON: {exc.msg} at position {exc.pos}") from exc
    except RecursionError as exc:
        raise HTTPException(400, "body is nested too deeply") from exc
    if not isinstance(payload, dict):
        raise HTTPException(400, "a Telegram update is a JSON object")
    update_id = payload.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise HTTPException(400, "update_id is missing or not an integer")
    return payload
