"""Shared pieces of the channel tests: credentials of the fake providers and signed webhook requests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi.testclient import TestClient
from httpx import Response
from twilio.request_validator import RequestValidator

from bot.keywords import load_keywords

KEYWORDS = load_keywords(Path(__file__).resolve().parents[3] / "config").config
PUBLIC_URL = "https://accord.example.test"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
MESSAGING_SERVICE_SID = "MG" + "abcdef0123456789" * 2
BOT_TOKEN = "7000000001:AAH-accord-test-token_0123456789ab"
WEBHOOK_SECRET = "s3cret-Token_for-webhooks-0123456789"
FIXTURES = Path(__file__).resolve().parent.parent.parent / "fixtures"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def twilio_fixture(name: str, **overrides: str) -> dict[str, str]:
    """A captured Twilio webhook body as form fields, with some fields replaced."""
    fields = dict(parse_qsl((FIXTURES / "twilio" / name).read_text(encoding="utf-8"), keep_blank_values=True))
    fields["AccountSid"] = ACCOUNT_SID
    fields.update(overrides)
    return fields


def telegram_fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((FIXTURES / "telegram" / name).read_text(encoding="utf-8")))


def twilio_signature(path: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_URL + path, params)


def post_twilio(client: TestClient, path: str, params: dict[str, str], *, signature: str | None = None,
                sign: bool = True) -> Response:
    headers = dict(FORM)
    if sign:
        headers["X-Twilio-Signature"] = signature if signature is not None else twilio_signature(path, params)
    return client.post(path, content=urlencode(params).encode("utf-8"), headers=headers)


def post_telegram(client: TestClient, update: dict[str, Any] | bytes, *,
                  secret: str | bytes | None = WEBHOOK_SECRET) -> Response:
    headers: dict[str, str | bytes] = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    body = update if isinstance(update, bytes) else json.dumps(update, ensure_ascii=False).encode("utf-8")
    return client.post("/webhooks/telegram", content=body, headers=headers)
