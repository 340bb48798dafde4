"""The Rasa adapter for the DialogueEngine port: one Rasa server per language, reached over its REST channel.

Rasa answers with `custom` messages that hold a catalog template id and params (the actions never compose
wording). Any text message is ignored and logged: wording only comes from the catalog. Connection errors,
timeouts, 5xx answers and the action server's "Accord unavailable" marker raise DialogueUnavailable, so the
inbound pipeline hands the cardholder to an officer instead of losing the message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
import structlog

from core.ports import DialogueReply, DialogueTurn, DialogueUnavailable

log = structlog.get_logger("accord.rasa")

DEFAULT_TIMEOUT_S = 15.0  # a turn may run several actions, each a round trip to Accord's internal API


class RasaDialogueEngine:
    name = "rasa"

    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        token: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not urls:
            raise ValueError("RasaDialogueEngine needs at least one Rasa URL")
        self._urls = {lang: url.rstrip("/") for lang, url in urls.items()}
        self._default = next(iter(self._urls.values()))
        self._token = token
        self._client = httpx.Client(timeout=timeout_s, transport=transport)

    def url_for(self, language: str) -> str:
        return self._urls.get(language, self._default)

    def _params(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}

    def handle(self, turn: DialogueTurn) -> list[DialogueReply]:
        url = f"{self.url_for(turn.language)}/webhooks/rest/webhook"
        body = {"sender": turn.sender_id, "message": turn.text, "metadata": {"language": turn.language}}
        try:
            response = self._client.post(url, json=body, params=self._params())
        except httpx.HTTPError as exc:
            raise DialogueUnavailable(f"rasa ({turn.language}): {exc.__class__.__name__}") from exc
        if response.status_code != 200:
            raise DialogueUnavailable(f"rasa ({turn.language}): HTTP {response.status_code}")
        try:
            messages = response.json()
        except ValueError as exc:
            raise DialogueUnavailable(f"rasa ({turn.language}): answer is not JSON") from exc
        return to_replies(messages, conversation_id=turn.conversation_id)

    def healthy(self) -> bool:
        for url in set(self._urls.values()):
            try:
                response = self._client.get(f"{url}/status", params=self._params(), timeout=3.0)
            except httpx.HTTPError:
                return False
            if response.status_code != 200:
                return False
        return True

    def resume(self, sender_id: str) -> bool:
        """Append Rasa's `resume` event to a conversation's tracker after an officer hands back. Sent to every
        server: only one holds the conversation's tracker, and a resume on an empty tracker is harmless."""
        acknowledged = False
        for url in set(self._urls.values()):
            try:
                response = self._client.post(
                    f"{url}/conversations/{sender_id}/tracker/events",
                    # The paused turn never reached action_listen; add it so the next message starts a clean turn.
                    json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}],
                    params=self._params(),
                )
            except httpx.HTTPError:
                continue
            acknowledged = acknowledged or response.status_code == 200
        return acknowledged

    def close(self) -> None:
        self._client.close()


def to_replies(messages: Any, *, conversation_id: int | None = None) -> list[DialogueReply]:
    if not isinstance(messages, list):
        raise DialogueUnavailable("rasa answered with something other than a list of messages")
    replies: list[DialogueReply] = []
    for message in messages:
        custom = message.get("custom") if isinstance(message, dict) else None
        if isinstance(custom, dict) and custom.get("error"):
            raise DialogueUnavailable(f"rasa action server: {custom['error']}")
        if isinstance(custom, dict) and isinstance(custom.get("template_id"), str):
            params = custom.get("params") or {}
            replies.append(DialogueReply(template_id=custom["template_id"], params=dict(params)))
            continue
        # Free text from Rasa never reaches a cardholder: only catalog templates do.
        log.warning("rasa.ignored_message", conversation_id=conversation_id,
                    keys=sorted(message) if isinstance(message, dict) else type(message).__name__)
    return replies


def engine_from_settings(settings: Any) -> RasaDialogueEngine | None:
    """RASA_URL is one URL, or per-language pairs: "en=http://127.0.0.1:5005,zh=http://127.0.0.1:5006"."""
    if not settings.rasa_url:
        return None
    token = settings.rasa_token.get_secret_value() if settings.rasa_token else None
    return RasaDialogueEngine(parse_rasa_urls(settings.rasa_url), token=token)


def parse_rasa_urls(value: str) -> dict[str, str]:
    urls: dict[str, str] = {}
    for part in (p.strip() for p in value.split(",") if p.strip()):
        if "=" in part and not part.startswith("http"):
            language, url = part.split("=", 1)
            urls[language.strip()] = url.strip()
        else:
            urls["*"] = part
    if not urls:
        raise ValueError(f"RASA_URL {value!r} names no URL")
    return urls
