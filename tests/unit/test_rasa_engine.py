"""The Rasa adapter against a loopback fake of Rasa's REST channel and HTTP API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
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
    with fake_rasa() as served:
        yield served


@contextmanager
def fake_rasa() -> Iterator[tuple[FakeRasa, str]]:
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


def test_each_turn_goes_to_its_languages_server() -> None:
    """One model per language: the turn's language (chosen from the message by the pipeline) picks the server,
    and travels as the message's metadata so the actions read the cardholder's words in it."""
    with fake_rasa() as (en, en_url), fake_rasa() as (zh, zh_url):
        engine = RasaDialogueEngine({"en": en_url, "zh": zh_url})
        engine.handle(DialogueTurn(conversation_id=7, sender_id="7", text="I can pay on Friday", language="en"))
        assert [body for _, _, body in en.requests] == [
            {"sender": "7", "message": "I can pay on Friday", "metadata": {"language": "en"}}]
        assert zh.requests == []
        engine.handle(TURN)
        assert [body["metadata"] for _, _, body in zh.requests] == [{"language": "zh"}]
        assert len(en.requests) == 1
        assert engine.url_for("en") == en_url and engine.url_for("zh") == zh_url
        # A language without a server of its own goes to the first one named.
        assert RasaDialogueEngine({"*": en_url}).url_for("zh") == en_url


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
