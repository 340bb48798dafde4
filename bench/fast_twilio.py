"""A zero-latency loopback fake of Twilio's Messages API for throughput benchmarks, in a process of its own.

The functional fake (tests/fakes/twilio_api.py) is a threaded http.server that records every request for
assertions and tops out near 500 requests/s, which would measure the fake rather than Accord. This one is an
asyncio protocol speaking just enough HTTP/1.1 (keep-alive, Content-Length bodies): it checks the account's Basic
auth, answers each `POST .../Messages.json` with Twilio's message JSON and counts creates per `To`.

`python -m bench.fast_twilio ACCOUNT_SID AUTH_TOKEN` prints its base URL, serves until standard input closes,
then prints the number of creates and the largest number for any one recipient.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import threading
from collections import Counter
from urllib.parse import parse_qs


class _Protocol(asyncio.Protocol):
    def __init__(self, server: FastTwilio) -> None:
        self.server, self.buffer = server, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < head_end + 4 + length:
                return
            body = self.buffer[head_end + 4:head_end + 4 + length]
            self.buffer = self.buffer[head_end + 4 + length:]
            method, path, _ = head[0].split(" ", 2)
            status, payload = self.server.answer(method, path, headers.get("authorization", ""), body)
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                                 % (status, b"OK" if status < 300 else b"ERR", len(payload), payload))


class FastTwilio:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self._auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._prefix = f"/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.creates: Counter[str] = Counter()
        self._next = 0
        self.port = 0

    def answer(self, method: str, path: str, authorization: str, body: bytes) -> tuple[int, bytes]:
        if authorization != self._auth:
            return 401, b'{"code": 20003, "message": "Authenticate", "status": 401}'
        if method != "POST" or not path.startswith(self._prefix):
            return 404, b'{"code": 20404, "message": "not found", "status": 404}'
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8")).items()}
        self._next += 1
        sid = f"SM{self._next:032x}"
        self.creates[form.get("To", "")] += 1
        return 201, json.dumps({
            "sid": sid, "account_sid": self.account_sid, "to": form.get("To"), "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"), "body": form.get("Body"),
            "status": "accepted" if form.get("MessagingServiceSid") else "queued", "num_segments": "1",
            "direction": "outbound-api", "api_version": "2010-04-01", "price": None, "error_code": None,
            "date_created": "Mon, 23 Nov 2026 02:00:00 +0000", "date_updated": "Mon, 23 Nov 2026 02:00:00 +0000",
            "date_sent": None, "uri": f"{self._prefix[:-5]}/{sid}.json",
        }).encode()

    async def serve(self, ready: threading.Event | None = None) -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Protocol(self), "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        if ready is not None:
            ready.set()
        async with server:
            await asyncio.Event().wait()


def main(argv: list[str]) -> None:
    fake = FastTwilio(argv[0], argv[1])
    ready = threading.Event()
    threading.Thread(target=lambda: asyncio.run(fake.serve(ready)), daemon=True).start()
    ready.wait(10)
    print(f"http://127.0.0.1:{fake.port}", flush=True)
    sys.stdin.read()  # until the parent closes the pipe
    print(sum(fake.creates.values()), max(fake.creates.values(), default=0), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
