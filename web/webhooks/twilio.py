"""Twilio webhooks: inbound SMS (`/webhooks/twilio/sms`) and delivery status (`/webhooks/twilio/status`).

Both are signed: Twilio computes X-Twilio-Signature over the exact URL it called plus the form fields, keyed by
the account's auth token. Behind proxies the URL Accord sees is not the one Twilio called, so the signature is
checked against ACCORD_PUBLIC_URL + path, the address registered with Twilio.

Inbound SMS are handed to the inbound pipeline, which stores the message before anything else and answers a
repeated MessageSid from the stored row. The reply is empty TwiML: Accord's answers leave through the compliance
gate as separate messages, never inline.
"""

from __future__ import annotations

import secrets

import structlog
from fastapi import APIRouter, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from twilio.request_validator import RequestValidator

from accord.bootstrap import Container
from bot.delivery_status import apply_twilio_status
from bot.inbound import InboundMessage, InboundRejected, pipeline_for
from core.enums import Channel
from storage.db import transaction
from web.deps import ContainerDep
from web.webhooks.bodies import parse_form, read_body

log = structlog.get_logger("accord.webhooks.twilio")
router = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_SID_CHARS = 64


async def signed_form(request: Request, container: Container) -> FormData:
    settings = container.settings
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not token or not settings.twilio_account_sid:  # an empty key would let anyone sign requests
        raise HTTPException(404, "Twilio is not configured")
    signature = request.headers.get("x-twilio-signature")
    if not signature:
        raise HTTPException(403, "missing X-Twilio-Signature")
    form = parse_form(request, await read_body(request))
    url = settings.accord_public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    validator = RequestValidator(token)
    if not validator.validate(url, form, signature):
        log.warning("twilio.bad_signature", path=request.url.path)
        raise HTTPException(403, "X-Twilio-Signature does not match")
    # A valid signature proves the auth token; the account sid must still be ours (subaccounts share tokens).
    account = str(form.get("AccountSid", "")).encode("utf-8")
    if not secrets.compare_digest(account, settings.twilio_account_sid.encode("utf-8")):
        raise HTTPException(403, "AccountSid is not this deployment's account")
    return form


def _field(form: FormData, *names: str, required: bool = True) -> str:
    for name in names:
        value = form.get(name)
        if isinstance(value, str) and value:
            return value
    if required:
        raise HTTPException(400, f"missing form field {names[0]}")
    return ""


def _sid(form: FormData) -> str:
    sid = _field(form, "MessageSid", "SmsSid")
    if len(sid) > MAX_SID_CHARS or not sid.isascii() or not sid.isalnum():
        raise HTTPException(400, "MessageSid is not a Twilio message sid")
    return sid


@router.post("/sms")
async def inbound_sms(request: Request, container: ContainerDep) -> Response:
    form = await signed_form(request, container)
    message = InboundMessage(
        channel=Channel.SMS,
        address=_field(form, "From"),
        text=_field(form, "Body", required=False),
        received_at=container.clock.now(),
        provider_message_id=_sid(form),
    )
    try:
        await run_in_threadpool(pipeline_for(container).receive, message)
    except InboundRejected as exc:
        raise HTTPException(400, str(exc)) from exc
    return Response(EMPTY_TWIML, media_type="application/xml")


@router.post("/status")
async def delivery_status(request: Request, container: ContainerDep) -> Response:
    form = await signed_form(request, container)
    sid = _sid(form)
    status = _field(form, "MessageStatus", "SmsStatus")
    error_code = _field(form, "ErrorCode", required=False) or None
    if error_code is not None and (len(error_code) > 16 or not error_code.isdigit()):
        raise HTTPException(400, "ErrorCode is not a Twilio error code")

    def apply() -> str:
        with transaction(container.session_factory) as session:
            result = apply_twilio_status(session, provider_message_id=sid, provider_status=status,
                                         error_code=error_code, at=container.clock.now())
        return result.applied.value

    applied = await run_in_threadpool(apply)
    if applied != "updated":
        log.info("twilio.status_not_applied", outcome=applied, status=status[:32])
    return Response(status_code=204)
