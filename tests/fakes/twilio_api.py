"""A small fake of Twilio's REST API: Messages create and fetch, in Twilio's real JSON shapes.

The real `twilio.rest.Client` reaches it through Accord's host-rewriting HTTP client. Faults are queued and
consumed one per create request: "timeout", "500", "429", or a Twilio error code ("21610", "21211", "21614");
"429:N" answers 429 with Retry-After N. Concurrent sends arrive in no fixed order, so a fault can instead be
pinned to a recipient (`fail_recipient`), and `reply_delay_s` holds every accepted reply to show overlap.
The fake also builds the signed status callbacks Twilio would post back, so tests can deliver them to Accord.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
from collections import deque
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from twilio.request_validator import RequestValidator

from tests.fakes.loopback import TIMEOUT_HOLD_S, LoopbackServer, Recorded, Reply

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "twilio"
MESSAGES_RE = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages(?:/(?P<sid>SM\w+))?\.json$")
ERROR_FIXTURES = {"21610": "error_21610.json", "21211": "error_21211.json", "21614": "error_21614.json",
                  "429": "error_20429.json", "500": "error_20500.json"}


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def fixture_json(name: str) -> Any:
    return json.loads(fixture_text(name))


class FakeTwilioApi(LoopbackServer):
    def __init__(self, account_sid: str, auth_token: str) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: dict[str, dict[str, Any]] = {}
        self.faults: deque[str] = deque()
        self.retry_after: str | None = None  # sent with 429 replies when set
        self.reply_delay_s = 0.0  # hold each accepted create this long
        self.recipient_faults: dict[str, str] = {}
        self._template = fixture_json("message_resource.json")
        self._mlock = threading.Lock()

    # --- test controls -----------------------------------------------------------------------------------------
    def fail_next(self, *faults: str) -> None:
        self.faults.extend(faults)

    def fail_recipient(self, to: str, fault: str) -> None:
        """Answer the next create to `to` with `fault` (same names as fail_next), whatever the arrival order."""
        with self._mlock:
            self.recipient_faults[to] = fault

    def created(self) -> list[dict[str, str]]:
        """The form fields of every accepted or refused create request, in order."""
        return [r.form() for r in self.requests_to("/Messages.json", "POST")]

    def set_status(self, sid: str, status: str, error_code: int | None = None) -> None:
        with self._mlock:
            self.messages[sid]["status"] = status
            self.messages[sid]["error_code"] = error_code

    def status_callback(self, sid: str, status: str, error_code: str | None = None) -> tuple[str, dict[str, str]]:
        """The URL and form fields Twilio would post to the message's StatusCallback for `status`."""
        message = self.messages[sid]
        params = {
            "SmsSid": sid,
            "SmsStatus": status,
            "MessageStatus": status,
            "To": message["to"],
            "MessageSid": sid,
            "AccountSid": self.account_sid,
            "From": message["from"] or "+14155550100",
            "ApiVersion": "2010-04-01",
        }
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code:
            params["ErrorCode"] = error_code
        if status == "delivered":
            params["RawDlrDoneDate"] = "2611230201"
        self.set_status(sid, status, int(error_code) if error_code else None)
        return message["status_callback"], params

    def sign(self, url: str, params: dict[str, str]) -> str:
        return RequestValidator(self.auth_token).compute_signature(url, params)

    # --- the API -----------------------------------------------------------------------------------------------
    def handle(self, request: Recorded) -> Reply:
        match = MESSAGES_RE.match(request.path)
        if not match:
            return Reply.json(404, fixture_json("error_20404.json"))
        if not self._authorised(request, match["account"]):
            return Reply.json(401, fixture_json("error_20003.json"), **{"WWW-Authenticate": 'Basic realm="Twilio API"'})
        if request.method == "POST" and match["sid"] is None:
            return self._create(request)
        if request.method == "GET" and match["sid"]:
            with self._mlock:
                message = copy.deepcopy(self.messages.get(match["sid"]))
            if message is None:
                return Reply.json(404, fixture_json("error_20404.json"))
            message.pop("status_callback", None)
            return Reply.json(200, message)
        return Reply.json(405, {"code": 20004, "message": "Method not allowed", "status": 405})

    def _authorised(self, request: Recorded, account: str) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic ") or account != self.account_sid:
            return False
        decoded = base64.b64decode(header[6:]).decode("utf-8")
        return secrets.compare_digest(decoded, f"{self.account_sid}:{self.auth_token}")

    def _create(self, request: Recorded) -> Reply:
        form = request.form()
        with self._mlock:
            fault = self.recipient_faults.pop(form.get("To", ""), None)
        if fault is None and self.faults:
            fault = self.faults.popleft()
        if fault == "timeout":
            return Reply.json(201, {}, delay_s=TIMEOUT_HOLD_S)
        if fault is not None and fault.partition(":")[0] == "429":
            retry_after = fault.partition(":")[2] or self.retry_after
            headers = {"Retry-After": retry_after} if retry_after else {}
            return Reply.json(429, fixture_json(ERROR_FIXTURES["429"]), **headers)
        if fault is not None:
            payload = fixture_json(ERROR_FIXTURES[fault])
            return Reply.json(int(payload["status"]), payload)
        if not form.get("To") or not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
            return Reply.json(400, {"code": 21604, "message": "A 'To' phone number, 'Body' and 'From' or "
                                    "'MessagingServiceSid' are required.", "status": 400})
        sid = "SM" + secrets.token_hex(16)
        now = format_datetime(datetime.now(UTC), usegmt=False).replace("-0000", "+0000")
        message = copy.deepcopy(self._template)
        base_uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        message.update(
            account_sid=self.account_sid, body=form["Body"], sid=sid, to=form["To"], date_created=now,
            date_updated=now, **{"from": form.get("From")},
            messaging_service_sid=form.get("MessagingServiceSid"),
            status="accepted" if form.get("MessagingServiceSid") else "queued",
            num_segments=str(max(1, -(-len(form["Body"]) // 153))), uri=base_uri + ".json",
            subresource_uris={"media": base_uri + "/Media.json", "feedback": base_uri + "/Feedback.json"},
        )
        with self._mlock:
            self.messages[sid] = {**message, "status_callback": form.get("StatusCallback")}
        return Reply.json(201, message, delay_s=self.reply_delay_s)


def form_body(params: dict[str, str]) -> bytes:
    return urlencode(params).encode("utf-8")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")
