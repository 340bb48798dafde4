"""Action tests run under .venv-rasa's Python with the real rasa-sdk and a loopback fake of Accord's internal
API, which records every request and answers from a script set by each test."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

NLU_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(NLU_DIR))  # `actions` is imported the way `rasa run actions` imports it

TRACKERS = Path(__file__).resolve().parent / "trackers"
TOKEN = "test-internal-token"


class FakeAccord:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, tuple[int, dict[str, Any]]] = {}

    def answer(self, step: str, body: dict[str, Any], status: int = 200) -> None:
        self.answers[step] = (status, body)

    def handle(self, method: str, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict[str, Any]]:
        self.requests.append({"method": method, "path": path, "headers": headers, "body": body})
        if headers.get("x-accord-internal-token") != TOKEN:
            return 401, {"detail": "missing or wrong internal API token"}
        step = path.split("/conversations/", 1)[1].split("/", 1)[1]
        return self.answers.get(step, (200, {"replies": [], "slots": {}, "pause": False, "data": {}}))


@pytest.fixture
def accord(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAccord]:
    fake = FakeAccord()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = fake.handle(self.command, self.path, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The action server reads these from its environment at call time (as in production).
    monkeypatch.setenv("ACCORD_INTERNAL_API_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("ACCORD_INTERNAL_API_TOKEN", TOKEN)
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def load_tracker(name: str) -> Any:
    from rasa_sdk import Tracker

    return Tracker.from_dict(json.loads((TRACKERS / f"{name}.json").read_text(encoding="utf-8")))
