"""A threaded HTTP server on 127.0.0.1 with an ephemeral port that records every request it serves.

Subclasses implement `handle(request) -> Reply`. The server runs in daemon threads so a slow ("timeout") reply
never blocks other requests, and `close()` releases any reply still being held back.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request arrived

    def form(self) -> dict[str, str]:
        """The body as form fields (last value wins), the way Twilio and PTB send them."""
        pairs = parse_qs(self.body.decode("utf-8"), keep_blank_values=True)
        return {key: values[-1] for key, values in pairs.items()}

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0  # hold the reply back this long (or until the server closes)

    @classmethod
    def json(cls, status: int, payload: Any, *, delay_s: float = 0.0, **headers: str) -> Reply:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return cls(status, data, {"Content-Type": "application/json", **headers}, delay_s=delay_s)


# A "timeout" fault holds its reply back this long. A client under test gives up after CLIENT_TIMEOUT_S: well before
# the held reply, and well after the slowest ordinary loopback reply on a loaded 2-core CI machine (0.5 s was not).
TIMEOUT_HOLD_S = 3.0
CLIENT_TIMEOUT_S = TIMEOUT_HOLD_S / 2


class _Server(ThreadingHTTPServer):
    # socketserver's default listen backlog of 5 drops connections when a client opens many at once (a concurrent
    # batch send); the client then retries the SYN a second later, which looks like a provider timeout.
    request_queue_size = 128


class LoopbackServer:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes; don't wait on delayed ACKs

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(
                    method=self.command,
                    path=parts.path,
                    query=parse_qs(parts.query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    at=time.monotonic(),
                )
                with owner._lock:
                    owner.requests.append(recorded)
                reply = owner.handle(recorded)
                if reply.delay_s:
                    owner._closing.wait(reply.delay_s)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test): nothing to deliver

            do_GET = _serve
            do_POST = _serve
            do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name=type(self).__name__,
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def handle(self, request: Recorded) -> Reply:  # pragma: no cover - subclasses override
        return Reply(404)

    def requests_to(self, suffix: str, method: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith(suffix) and (method is None or r.method == method)]

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
