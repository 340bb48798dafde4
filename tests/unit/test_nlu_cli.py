"""`accord nlu parse` against a loopback fake of Rasa's /model/parse, one server per language."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from accord.cli.main import app


def _fake(intent: str) -> tuple[ThreadingHTTPServer, list[Any]]:
    seen: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            seen.append((self.path, body))
            data = json.dumps({"text": body["text"], "intent": {"name": intent, "confidence": 0.987654},
                               "entities": [{"entity": "hardship_type", "value": "job_loss", "start": 0,
                                             "end": 2, "extractor": "DIETClassifier"}]}).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def servers() -> Iterator[tuple[str, list[Any], list[Any]]]:
    en, en_seen = _fake("promise_to_pay")
    zh, zh_seen = _fake("explain_hardship")
    try:
        url = f"en=http://127.0.0.1:{en.server_address[1]},zh=http://127.0.0.1:{zh.server_address[1]}"
        yield url, en_seen, zh_seen
    finally:
        for server in (en, zh):
            server.shutdown()
            server.server_close()


def test_parse_adds_intent_confidence_and_entities(servers: tuple[str, list[Any], list[Any]]) -> None:
    url, en_seen, zh_seen = servers
    lines = '{"text": "I will pay on Friday", "lang": "en"}\n\n{"text": "我失业了", "lang": "zh", "id": 7}\n'
    result = CliRunner().invoke(app, ["nlu", "parse", "--url", url], input=lines)
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.strip().splitlines())
    assert first == {"text": "I will pay on Friday", "lang": "en", "intent": "promise_to_pay", "confidence": 0.9877,
                     "entities": [{"entity": "hardship_type", "value": "job_loss", "start": 0, "end": 2}]}
    assert second["id"] == 7 and second["intent"] == "explain_hardship"
    assert en_seen[0][1] == {"text": "I will pay on Friday"} and zh_seen[0][1] == {"text": "我失业了"}


def test_bad_lines_and_unknown_languages_are_named(servers: tuple[str, list[Any], list[Any]]) -> None:
    url, _, _ = servers
    result = CliRunner().invoke(app, ["nlu", "parse", "--url", url], input="not json\n")
    assert result.exit_code == 1 and "line 1: not JSON" in result.output
    result = CliRunner().invoke(app, ["nlu", "parse", "--url", url], input='{"text": "hola", "lang": "es"}\n')
    assert result.exit_code == 1 and "no Rasa server for language 'es'" in result.output


def test_a_server_that_is_down_says_how_to_start_it() -> None:
    result = CliRunner().invoke(app, ["nlu", "parse", "--url", "en=http://127.0.0.1:9"],
                                input='{"text": "hi", "lang": "en"}\n')
    assert result.exit_code == 1 and "--start" in result.output
