"""The Rasa adapter against a loopback fake of Rasa's REST channel and HTTP API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.rasa_engine import RasaDialogueEngine, parse_rasa_urls, to_replies
from core.ports import DialogueReply, DialogueTurn, DialogueUnavailable


class FakeRasa:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.answer: tuple[int, Any] = (200, [])


@pytest.fixture
def rasa() -> Iterator[tuple[FakeRasa, str]]:
    fake = FakeRasa()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.requests.append((self.command, self.path, body))
            status, answer = fake.answer if "webhook" in self.path else (200, {"ok": True})
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


TURN = DialogueTurn(conversation_id=7, sender_id="7", text="我下周五还五百", language="zh")


def test_replies_are_catalog_templates(rasa: tuple[FakeRasa, str]) -> None:
    fake, url = rasa
    fake.answer = (200, [{"recipient_id": "7", "custom": {"template_id": "promise.recorded",
                                                           "params": {"amount": 50000}}},
                         {"recipient_id": "7", "text": "free text never reaches a cardholder"}])
    engine = RasaDialogueEngine({"zh": url, "en": "http://127.0.0.1:9"}, token="t0k")
    assert engine.handle(TURN) == [DialogueReply("promise.recorded", {"amount": 50000})]
    method, path, body = fake.requests[-1]
    assert (method, path.split("?")[0]) == ("POST", "/webhooks/rest/webhook")
    assert body == {"sender": "7", "message": "我下周五还五百", "metadata": {"language": "zh"}}


def test_unreachable_or_failing_rasa_is_unavailable(rasa: tuple[FakeRasa, str]) -> None:
    fake, url = rasa
    with pytest.raises(DialogueUnavailable):
        RasaDialogueEngine({"zh": "http://127.0.0.1:9"}, timeout_s=1).handle(TURN)
    fake.answer = (500, {"error": "boom"})
    with pytest.raises(DialogueUnavailable, match="HTTP 500"):
        RasaDialogueEngine({"zh": url}).handle(TURN)
    fake.answer = (200, [{"custom": {"error": "accord_unavailable"}}])
    with pytest.raises(DialogueUnavailable, match="accord_unavailable"):
        RasaDialogueEngine({"zh": url}).handle(TURN)


def test_health_and_resume(rasa: tuple[FakeRasa, str]) -> None:
    fake, url = rasa
    engine = RasaDialogueEngine({"en": url, "zh": url}, token="t0k")
    assert engine.healthy()
    assert engine.resume("7")
    method, path, body = fake.requests[-1]
    assert path.startswith("/conversations/7/tracker/events?token=t0k") and body == [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
    assert not RasaDialogueEngine({"en": "http://127.0.0.1:9"}).healthy()


def test_rasa_url_forms() -> None:
    assert parse_rasa_urls("http://rasa:5005") == {"*": "http://rasa:5005"}
    assert parse_rasa_urls("en=http://a:1, zh=http://b:2") == {"en": "http://a:1", "zh": "http://b:2"}
    with pytest.raises(ValueError):
        parse_rasa_urls(" , ")
    with pytest.raises(DialogueUnavailable):
        to_replies({"not": "a list"})
