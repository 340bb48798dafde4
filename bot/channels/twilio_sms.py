"""SMS through Twilio's Programmable Messaging API, using the official `twilio` SDK.

Outbound goes through a Messaging Service when one is configured (Twilio then picks the sender and applies its
own opt-out handling), otherwise from a fixed number. Every message asks Twilio to post its delivery status to
Accord's `/webhooks/twilio/status`.

Provider answers are sorted into the three outcomes the dispatcher understands: accepted, a permanent refusal
(retrying can never help: the recipient unsubscribed, the number is invalid or not a mobile), or a transient
failure raised as TransientChannelError (timeouts, 5xx, 429) that the dispatcher retries with backoff.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import structlog
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from accord.settings import Settings
from core.enums import Channel
from core.ports import OutboundText, SendResult, TransientChannelError

log = structlog.get_logger("accord.twilio")
# The SDK logs five INFO lines per request (URL, headers, status); Accord logs its own outcome line instead.
SDK_LOG = logging.getLogger("accord.twilio.sdk")
SDK_LOG.setLevel(logging.WARNING)

STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
INBOUND_PATH = "/webhooks/twilio/sms"

# Error codes that say something about the recipient's number; the dispatcher marks the contact point.
UNSUBSCRIBED = "21610"
ADDRESS_ERRORS = {
    UNSUBSCRIBED: "recipient unsubscribed from this sender (replied STOP to the carrier)",
    "21211": "invalid 'To' phone number",
    "21614": "'To' number is not a mobile number",
    "21612": "Twilio cannot route to this number",
    "21408": "sending to this region is not enabled on the account",
}

# Twilio's message states folded into Accord's vocabulary (core.enums.MessageStatus values).
STATUS_MAP = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}


class RoutedHttpClient(TwilioHttpClient):
    """The SDK's own HTTP client, pointed at another API host when one is configured (a loopback fake in
    tests), and remembering each thread's last response headers so a 429's Retry-After is not lost: the SDK's
    exception does not carry headers."""

    def __init__(self, api_base: str | None = None, timeout: float | None = 10.0) -> None:
        super().__init__(timeout=timeout, logger=SDK_LOG)
        self._base = urlsplit(api_base.rstrip("/")) if api_base else None
        self._local = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self._base is not None:
            parts = urlsplit(url)
            url = urlunsplit((self._base.scheme, self._base.netloc, self._base.path + parts.path, parts.query, ""))
        self._local.headers = None
        response = super().request(method, url, *args, **kwargs)
        self._local.headers = response.headers
        return response

    def last_header(self, name: str) -> str | None:
        headers = getattr(self._local, "headers", None)
        return headers.get(name) if headers is not None else None


class TwilioSms:
    channel = Channel.SMS
    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        public_url: str,
        messaging_service_sid: str | None = None,
        from_number: str | None = None,
        api_base: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if not (messaging_service_sid or from_number):
            raise ValueError("Twilio needs TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER to send from")
        self._http = RoutedHttpClient(api_base, timeout=timeout_s)
        self._client = Client(account_sid, auth_token, http_client=self._http)
        self._sender: dict[str, str] = (
            {"messaging_service_sid": messaging_service_sid} if messaging_service_sid else {"from_": from_number or ""}
        )
        self.status_callback = public_url.rstrip("/") + STATUS_CALLBACK_PATH

    def send(self, message: OutboundText) -> SendResult:
        if not message.text.strip():
            return SendResult(None, False, error_code="empty_text", error_detail="empty message", permanent=True)
        try:
            created = self._client.messages.create(
                to=message.address, body=message.text, status_callback=self.status_callback, **self._sender
            )
        except TwilioRestException as exc:
            return self._refused(exc)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientChannelError(f"twilio unreachable: {type(exc).__name__}") from exc
        except TwilioException as exc:  # e.g. a body the SDK could not parse: the provider misbehaved
            raise TransientChannelError(f"twilio error: {type(exc).__name__}") from exc
        if not created.sid:
            raise TransientChannelError("twilio accepted the request but returned no message sid")
        return SendResult(provider_message_id=created.sid, accepted=True)

    def _refused(self, exc: TwilioRestException) -> SendResult:
        code = str(exc.code) if exc.code is not None else str(exc.status)
        if exc.status == 429 or exc.status >= 500 or code == "20429":
            raise TransientChannelError(
                f"twilio HTTP {exc.status} (code {code})", retry_after_s=_seconds(self._http.last_header("Retry-After"))
            ) from exc
        if exc.status == 401:  # Accord's credentials, not the message: retry once they are fixed
            raise TransientChannelError(f"twilio refused the account credentials (code {code})") from exc
        detail = ADDRESS_ERRORS.get(code) or f"twilio refused the message: HTTP {exc.status}, code {code}"
        log.warning("twilio.refused", error_code=code, http_status=exc.status)
        return SendResult(provider_message_id=None, accepted=False, error_code=code, error_detail=detail,
                          permanent=True)

    def lookup(self, provider_message_id: str) -> str | None:
        """Ask Twilio where a message is after a crash; None when it cannot tell (unknown sid, unreachable)."""
        try:
            fetched = self._client.messages(provider_message_id).fetch()
        except (TwilioException, requests.RequestException):
            return None
        return STATUS_MAP.get(str(fetched.status))

    def close(self) -> None:
        if self._http.session is not None:
            self._http.session.close()

    def __repr__(self) -> str:
        return f"TwilioSms(sender={next(iter(self._sender))})"


def from_settings(settings: Settings) -> TwilioSms:
    assert settings.twilio_account_sid and settings.twilio_auth_token
    return TwilioSms(
        account_sid=settings.twilio_account_sid,
        auth_token=settings.twilio_auth_token.get_secret_value(),
        public_url=settings.accord_public_url,
        messaging_service_sid=settings.twilio_messaging_service_sid,
        from_number=settings.twilio_from_number,
        api_base=settings.twilio_api_base,
    )


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP-date Retry-After: let the dispatcher's own backoff decide
    return seconds if seconds >= 0 else None
