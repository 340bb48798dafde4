"""The action server's one door into Accord: its internal HTTP API, authenticated with a shared secret.

Settings are read from the environment at call time, never at import, so importing the actions needs no
credentials and a rotated token is picked up without a restart.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

TOKEN_HEADER = "X-Accord-Internal-Token"
# The turn's language, which Accord chose from the cardholder's message: Accord reads their words in it.
LANGUAGE_HEADER = "X-Accord-Turn-Language"
TIMEOUT_S = float(os.environ.get("ACCORD_INTERNAL_API_TIMEOUT", "5"))


class AccordUnavailable(RuntimeError):
    """Accord's internal API could not be reached or refused the call."""


def _settings() -> tuple:
    base = os.environ.get("ACCORD_INTERNAL_API_URL", "http://127.0.0.1:8000").rstrip("/")
    token = os.environ.get("ACCORD_INTERNAL_API_TOKEN")
    if not token:
        raise AccordUnavailable("ACCORD_INTERNAL_API_TOKEN is not set for the action server")
    return base, token


async def call(sender_id: str, step: str, body: dict[str, Any] | None = None, method: str = "POST",
               language: str | None = None) -> dict:
    """Run one dialogue step in Accord for the conversation Rasa knows as `sender_id` (Accord wrote its database's
    namespace and the conversation id into it, and reads them back), e.g. await call(tracker.sender_id, "verify",
    {...}); returns its JSON answer.

    Async, so one slow call never holds up the action server's other conversations. `language`: the turn's
    (common.turn_language); without it Accord uses the cardholder's profile language."""
    base, token = _settings()
    url = f"{base}/internal/v1/conversations/{sender_id}/{step}"
    headers = {TOKEN_HEADER: token}
    if language:
        headers[LANGUAGE_HEADER] = language
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT_S) as client:
            response = await client.request(method, url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise AccordUnavailable(f"{step}: {exc.__class__.__name__}") from exc
    if response.status_code != 200:
        raise AccordUnavailable(f"{step}: HTTP {response.status_code}")
    return response.json()
