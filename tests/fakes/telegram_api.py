"""A small fake of the Telegram Bot API: getMe, sendMessage, setWebhook, deleteWebhook, getWebhookInfo and
getUpdates, answering in the Bot API's real JSON shapes.

python-telegram-bot reaches it through `base_url` ("<fake>/bot"). Faults are queued and consumed one per
sendMessage: "429" (retry_after 7), "403" (bot blocked), "400" (chat not found), "502", "timeout".
"""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import defaultdict, deque
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.loopback import TIMEOUT_HOLD_S, LoopbackServer, Recorded, Reply

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "telegram"
FAULTS = {"429": "error_429.json", "403": "error_403_blocked.json", "400": "error_400_chat_not_found.json",
          "502": "error_502.json"}


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class FakeTelegramApi(LoopbackServer):
    def __init__(self, token: str, *, updates_hold_s: float = 0.2) -> None:
        super().__init__()
        self.token = token
        self.updates_hold_s = updates_hold_s
        self.faults: deque[str] = deque()
        self.sent: list[dict[str, Any]] = []  # every accepted sendMessage, with its chat and text
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None}
        self._me = fixture("get_me.json")["result"]
        self._next_message_id: dict[int, int] = defaultdict(lambda: 100)
        self._updates: list[dict[str, Any]] = []
        self._cond = threading.Condition()

    @property
    def bot_base_url(self) -> str:
        """What to give PTB (and settings.telegram_api_base) as base_url."""
        return self.base_url + "/bot"

    @property
    def username(self) -> str:
        return str(self._me["username"])

    def fail_next(self, *faults: str) -> None:
        self.faults.extend(faults)

    def queue_update(self, update: dict[str, Any]) -> None:
        """Make an update available to getUpdates (polling mode)."""
        with self._cond:
            self._updates.append(update)
            self._cond.notify_all()

    def texts_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.sent if m["chat"]["id"] == chat_id]

    # --- the API -----------------------------------------------------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        prefix = f"/bot{self.token}/"
        if not request.path.startswith("/bot"):
            return Reply.json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        if not request.path.startswith(prefix):
            return Reply.json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        method = request.path[len(prefix):]
        params = _params(request)
        handler = {
            "getMe": lambda: self._ok(copy.deepcopy(self._me)),
            "sendMessage": lambda: self._send_message(params),
            "setWebhook": lambda: self._set_webhook(params),
            "deleteWebhook": lambda: self._delete_webhook(),
            "getWebhookInfo": lambda: self._ok({"url": self.webhook["url"], "has_custom_certificate": False,
                                                "pending_update_count": 0}),
            "getUpdates": lambda: self._get_updates(params),
        }.get(method)
        if handler is None:
            return Reply.json(404, {"ok": False, "error_code": 404, "description": "Not Found: method not found"})
        return handler()

    def _ok(self, result: Any, **extra: Any) -> Reply:
        return Reply.json(200, {"ok": True, "result": result, **extra})

    def _send_message(self, params: dict[str, str]) -> Reply:
        fault = self.faults.popleft() if self.faults else None
        if fault == "timeout":
            return Reply.json(200, {"ok": False}, delay_s=TIMEOUT_HOLD_S)
        if fault is not None:
            payload = fixture(FAULTS[fault])
            return Reply.json(int(payload["error_code"]), payload)
        text = params.get("text", "")
        if not text.strip():
            return Reply.json(400, {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"})
        chat_id = int(params["chat_id"])
        self._next_message_id[chat_id] += 1
        message = {
            "message_id": self._next_message_id[chat_id],
            "from": {k: self._me[k] for k in ("id", "is_bot", "first_name", "username")},
            "chat": {"id": chat_id, "first_name": "Cardholder", "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        self.sent.append(message)
        return self._ok(message)

    def _set_webhook(self, params: dict[str, str]) -> Reply:
        self.webhook = {"url": params.get("url", ""), "secret_token": params.get("secret_token"),
                        "allowed_updates": params.get("allowed_updates")}
        return self._ok(True, description="Webhook was set")

    def _delete_webhook(self) -> Reply:
        self.webhook = {"url": "", "secret_token": None}
        return self._ok(True, description="Webhook was deleted")

    def _get_updates(self, params: dict[str, str]) -> Reply:
        if self.webhook["url"]:
            return Reply.json(409, {"ok": False, "error_code": 409, "description": "Conflict: can't use getUpdates "
                                    "method while webhook is active; use deleteWebhook to delete the webhook first"})
        offset = int(params.get("offset") or 0)
        with self._cond:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates:
                self._cond.wait(min(float(params.get("timeout") or 0), self.updates_hold_s))
            ready = list(self._updates)
        return self._ok(ready)


def _params(request: Recorded) -> dict[str, str]:
    """PTB posts form fields whose non-string values are JSON-encoded; plain JSON bodies are accepted too."""
    content_type = request.headers.get("content-type", "")
    if not request.body:
        return {}
    if content_type.startswith("application/json"):
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(request.body).items()}
    pairs = parse_qs(request.body.decode("utf-8"), keep_blank_values=True)
    return {key: values[-1] for key, values in pairs.items()}
