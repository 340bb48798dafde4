"""SMS through Twilio's Programmable Messaging API, using the official `twilio` SDK.

Outbound goes through a Messaging Service when one is configured (Twilio then picks the sender and applies its
own opt-out handling), otherwise from a fixed number. Every message asks Twilio to post its delivery status to
Accord's `/webhooks/twilio/status`.

Provider answers are sorted into the three outcomes the dispatcher understands: accepted, a permanent refusal
(retrying can never help: the recipient unsubscribed, the number is invalid or not a mobile), or a transient
failure, a TransientChannelError (timeouts, 5xx, 429), that the dispatcher retries with backoff. `send` raises
it; `send_many` returns it in the message's slot.

All requests go through the SDK's async path on the adapter's own event loop thread (bot.channels.twilio_async):
`send_many` puts up to `max_in_flight` requests on the wire at once, and `send` is a batch of one, so there is a
single place where provider answers are mapped.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Mapping, Sequence
from typing import cast

import aiohttp
import structlog
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from accord.settings import Settings
from bot.channels.twilio_async import RESPONSE_HEADERS, LoopThread, RoutedAsyncHttpClient
from core.enums import Channel
from core.ports import OutboundText, SendResult, TransientChannelError

log = structlog.get_logger("accord.twilio")
# The SDK's own request logging is not used; Accord logs its own outcome line instead.
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
        max_in_flight: int = 16,
    ) -> None:
        if not (messaging_service_sid or from_number):
            raise ValueError("Twilio needs TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER to send from")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self._http = RoutedAsyncHttpClient(api_base, timeout_s=timeout_s, max_in_flight=max_in_flight, logger=SDK_LOG)
        # The SDK imports its API modules on first use; taking the Messages resource here moves that (about a
        # fifth of a second) out of the first dispatch batch and the first reply.
        self._messages = Client(account_sid, auth_token, http_client=self._http).messages
        self._sender: dict[str, str] = (
            {"messaging_service_sid": messaging_service_sid} if messaging_service_sid else {"from_": from_number or ""}
        )
        self.status_callback = public_url.rstrip("/") + STATUS_CALLBACK_PATH
        # Closing waits for requests already on the wire, each bounded by timeout_s.
        self._runner = LoopThread("twilio-sms-loop", self._http.close, join_timeout_s=timeout_s + 5)
        # An adapter dropped without close() still stops its thread and closes its session (also at exit).
        weakref.finalize(self, self._runner.close)

    def send(self, message: OutboundText) -> SendResult:
        result = self.send_many([message])[0]
        if isinstance(result, Exception):
            raise result
        return result

    def send_many(self, messages: Sequence[OutboundText]) -> list[SendResult | Exception]:
        """Send a batch concurrently; one entry per message, in order: a SendResult (accepted or permanently
        refused), a TransientChannelError to retry, or another exception when the outcome is unknown. Never raises
        for one message's problem."""
        if not messages:
            return []
        return self._runner.run(self._send_all(messages))

    async def _send_all(self, messages: Sequence[OutboundText]) -> list[SendResult | Exception]:
        # Different recipients go concurrently; one recipient's messages (a bot turn's replies) go one after
        # another, so they arrive in order. gather gives each recipient its own task, hence its own
        # RESPONSE_HEADERS.
        results: list[SendResult | Exception | None] = [None] * len(messages)
        by_address: dict[str, list[int]] = {}
        for index, message in enumerate(messages):
            by_address.setdefault(message.address, []).append(index)

        async def in_order(indexes: list[int]) -> None:
            for index in indexes:
                results[index] = await self._send_one(messages[index])

        await asyncio.gather(*(in_order(indexes) for indexes in by_address.values()))
        assert all(result is not None for result in results)
        return cast(list[SendResult | Exception], results)

    async def _send_one(self, message: OutboundText) -> SendResult | Exception:
        if not message.text.strip():
            return SendResult(None, False, error_code="empty_text", error_detail="empty message", permanent=True)
        try:
            created = await self._messages.create_async(
                to=message.address, body=message.text, status_callback=self.status_callback, **self._sender
            )
        except TwilioRestException as exc:
            return self._refused(exc, RESPONSE_HEADERS.get())
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:  # aiohttp's timeouts are TimeoutErrors
            return _transient(f"twilio unreachable: {type(exc).__name__}", exc)
        except TwilioException as exc:  # e.g. a body the SDK could not parse: the provider misbehaved
            return _transient(f"twilio error: {type(exc).__name__}", exc)
        except Exception as exc:  # the request may or may not have reached Twilio: the caller flags it for review
            return exc
        if not created.sid:
            return TransientChannelError("twilio accepted the request but returned no message sid")
        return SendResult(provider_message_id=created.sid, accepted=True)

    def _refused(self, exc: TwilioRestException, headers: Mapping[str, str] | None) -> SendResult | TransientChannelError:
        code = str(exc.code) if exc.code is not None else str(exc.status)
        if exc.status == 429 or exc.status >= 500 or code == "20429":
            retry_after = _seconds(headers.get("Retry-After") if headers is not None else None)
            return _transient(f"twilio HTTP {exc.status} (code {code})", exc, retry_after_s=retry_after)
        if exc.status == 401:  # Accord's credentials, not the message: retry once they are fixed
            return _transient(f"twilio refused the account credentials (code {code})", exc)
        detail = ADDRESS_ERRORS.get(code) or f"twilio refused the message: HTTP {exc.status}, code {code}"
        log.warning("twilio.refused", error_code=code, http_status=exc.status)
        return SendResult(provider_message_id=None, accepted=False, error_code=code, error_detail=detail,
                          permanent=True)

    def lookup(self, provider_message_id: str) -> str | None:
        """Ask Twilio where a message is after a crash; None when it cannot tell (unknown sid, unreachable)."""
        try:
            fetched = self._runner.run(self._messages(provider_message_id).fetch_async())
        except Exception:
            return None
        return STATUS_MAP.get(str(fetched.status))

    def close(self) -> None:
        """Wait for requests in flight, close the HTTP session and stop the loop thread."""
        self._runner.close()

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


def _transient(detail: str, cause: BaseException, retry_after_s: float | None = None) -> TransientChannelError:
    error = TransientChannelError(detail, retry_after_s=retry_after_s)
    error.__cause__ = cause  # returned, not raised: keep the provider's exception for the log
    return error
