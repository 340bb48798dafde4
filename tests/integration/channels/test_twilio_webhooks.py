"""Twilio webhooks on real databases: signed inbound SMS and delivery status, through the real Twilio client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from core.clock import FixedClock
from core.enums import Channel
from storage.db import transaction
from storage.tables import AuditEvent, ContactPoint, Message
from tests import builders
from tests.fakes.gate import AllowingGate
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.channels.support import (
    AUTH_TOKEN,
    FORM,
    KEYWORDS,
    post_twilio,
    twilio_fixture,
    twilio_signature,
)
from web.app import create_app

PHONE = "+14155550123"
SMS = "/webhooks/twilio/sms"
STATUS = "/webhooks/twilio/status"


@pytest.fixture
def app(live: Container, clock: FixedClock) -> Container:
    live.extras["gate"] = AllowingGate(live.session_factory, clock, live.extras["channels"])
    with transaction(live.session_factory) as session:
        builders.cardholder(session, clock.now(), phone=PHONE, chat_id=None)
    return live


def inbound(body: str, sid: str = "SM" + "a1" * 16, **extra: str) -> dict[str, str]:
    return twilio_fixture("inbound_sms.txt", Body=body, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid, From=PHONE,
                          **extra)


def inbound_rows(app: Container) -> list[Message]:
    with app.session_factory() as session:
        return list(session.scalars(select(Message).where(Message.direction == "inbound").order_by(Message.id)))


def test_a_signed_sms_is_stored_and_answered_through_twilio(app: Container, client: TestClient,
                                                            twilio_api: FakeTwilioApi) -> None:
    response = post_twilio(client, SMS, inbound("Can I pay next Friday?"))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert response.text == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    [row] = inbound_rows(app)
    assert (row.text, row.provider_message_id, row.channel) == ("Can I pay next Friday?", "SM" + "a1" * 16, "sms")
    [sent] = twilio_api.created()
    assert sent["To"] == PHONE and sent["StatusCallback"] == "https://accord.example.test/webhooks/twilio/status"


def test_a_repeated_message_sid_is_processed_once(app: Container, client: TestClient,
                                                  twilio_api: FakeTwilioApi) -> None:
    for _ in range(3):
        assert post_twilio(client, SMS, inbound("hello")).status_code == 200

    assert len(inbound_rows(app)) == 1
    assert len(twilio_api.created()) == 1  # one reply, not three


def test_emoji_and_mixed_scripts_round_trip(app: Container, client: TestClient, twilio_api: FakeTwilioApi) -> None:
    text = "我下周五还款 OK? 😀 ありがとう ñ"
    assert post_twilio(client, SMS, inbound(text)).status_code == 200

    [row] = inbound_rows(app)
    assert row.text == text


@pytest.mark.parametrize("signature", [None, "", "bm90IGEgc2lnbmF0dXJl", "wrong"])
def test_unsigned_or_wrongly_signed_requests_are_refused(app: Container, client: TestClient,
                                                         signature: str | None) -> None:
    for path in (SMS, STATUS):
        response = post_twilio(client, path, inbound("hello"), signature=signature, sign=signature is not None)
        assert response.status_code == 403, path
    assert inbound_rows(app) == []


def test_a_signature_made_with_another_token_or_for_another_url_is_refused(app: Container,
                                                                           client: TestClient) -> None:
    params = inbound("hello")
    other_token = twilio_signature(SMS, params, token="0" * 32)
    other_url = RequestValidator(AUTH_TOKEN).compute_signature("https://elsewhere.example" + SMS, params)
    tampered = twilio_signature(SMS, params)
    params_changed = {**params, "Body": "hello!"}

    assert post_twilio(client, SMS, params, signature=other_token).status_code == 403
    assert post_twilio(client, SMS, params, signature=other_url).status_code == 403
    assert post_twilio(client, SMS, params_changed, signature=tampered).status_code == 403
    assert inbound_rows(app) == []


def test_a_validly_signed_request_for_another_account_is_refused(app: Container, client: TestClient) -> None:
    assert post_twilio(client, SMS, inbound("hello", AccountSid="AC" + "9" * 32)).status_code == 403


def test_malformed_bodies_get_a_4xx_naming_the_problem(app: Container, client: TestClient) -> None:
    signed = {"X-Twilio-Signature": twilio_signature(SMS, {})}
    cases = [
        (b"\xff\xfe\x00garbage", {**FORM, **signed}, 400, "UTF-8"),
        (b"Body=%FF%FE&From=%2B1", {**FORM, **signed}, 400, "UTF-8"),
        (b"x" * (70 * 1024), {**FORM, **signed}, 413, "larger than"),
        (b'{"Body": "hi"}', {"Content-Type": "application/json", **signed}, 415, "form-urlencoded"),
        (b"&".join(b"a%d=1" % i for i in range(500)), {**FORM, **signed}, 400, "malformed"),
    ]
    for body, headers, status, words in cases:
        response = client.post(SMS, content=body, headers=headers)
        assert response.status_code == status, (body[:30], response.text)
        assert words in response.json()["detail"]


def test_a_signed_request_missing_fields_is_a_400(app: Container, client: TestClient) -> None:
    params = inbound("hello")
    del params["From"]
    response = post_twilio(client, SMS, params)
    assert response.status_code == 400 and "From" in response.json()["detail"]
    bad_sid = inbound("hello", sid="SM../../etc")
    assert post_twilio(client, SMS, bad_sid).status_code == 400


def test_a_signed_message_the_pipeline_refuses_is_a_400(app: Container, client: TestClient) -> None:
    response = post_twilio(client, SMS, inbound("nul \x00 inside"))
    assert response.status_code == 400 and "NUL" in response.json()["detail"]


def test_an_unknown_sender_is_stored_for_review_without_a_reply(app: Container, client: TestClient,
                                                                twilio_api: FakeTwilioApi) -> None:
    params = inbound("who is this?")
    params["From"] = "+14155559999"
    assert post_twilio(client, SMS, params).status_code == 200
    [row] = inbound_rows(app)
    assert row.cardholder_id is None and row.from_address == "+14155559999"
    assert twilio_api.created() == []


def test_stop_opts_out_with_one_confirmation(app: Container, client: TestClient, twilio_api: FakeTwilioApi) -> None:
    assert post_twilio(client, SMS, inbound("STOP", sid="SM" + "b1" * 16)).status_code == 200
    assert post_twilio(client, SMS, inbound("stop", sid="SM" + "b2" * 16)).status_code == 200

    with app.session_factory() as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.address == PHONE)).one()
        assert point.opted_out_at is not None and point.opted_out_method == "keyword"
    gate = app.extras["gate"]
    assert [r.template_id for r in gate.requests] == [KEYWORDS.opt_out.reply_template]
    assert len(twilio_api.created()) == 1


# --- delivery status ---------------------------------------------------------------------------------------------

def send_reply(app: Container, client: TestClient) -> str:
    assert post_twilio(client, SMS, inbound("hello")).status_code == 200
    with app.session_factory() as session:
        sid = session.scalars(select(Message.provider_message_id).where(Message.direction == "outbound")).one()
    assert sid is not None and sid.startswith("SM")
    return sid


def outbound(app: Container, sid: str) -> Message:
    with app.session_factory() as session:
        return session.scalars(select(Message).where(Message.provider_message_id == sid)).one()


def post_status(client: TestClient, twilio_api: FakeTwilioApi, sid: str, status: str,
                error: str | None = None) -> int:
    url, params = twilio_api.status_callback(sid, status, error)
    assert url == "https://accord.example.test/webhooks/twilio/status"
    params["AccountSid"] = twilio_api.account_sid
    return post_twilio(client, STATUS, params).status_code


def test_status_callbacks_move_a_message_to_delivered(app: Container, client: TestClient,
                                                      twilio_api: FakeTwilioApi, clock: FixedClock) -> None:
    sid = send_reply(app, client)
    assert post_status(client, twilio_api, sid, "sent") == 204
    assert outbound(app, sid).status == "sent"
    assert post_status(client, twilio_api, sid, "delivered") == 204
    row = outbound(app, sid)
    assert row.status == "delivered" and row.delivered_at == clock.now()


def test_a_late_or_repeated_status_never_moves_a_message_back(app: Container, client: TestClient,
                                                             twilio_api: FakeTwilioApi) -> None:
    sid = send_reply(app, client)
    for status in ("delivered", "sent", "queued", "delivered", "failed"):
        assert post_status(client, twilio_api, sid, status) == 204
    assert outbound(app, sid).status == "delivered"


def test_undelivered_marks_the_message_failed_with_the_carrier_code(app: Container, client: TestClient,
                                                                    twilio_api: FakeTwilioApi) -> None:
    sid = send_reply(app, client)
    assert post_status(client, twilio_api, sid, "undelivered", "30003") == 204
    row = outbound(app, sid)
    assert (row.status, row.error_code) == ("failed", "30003")
    with app.session_factory() as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.address == PHONE)).one()
        assert point.opted_out_at is None and point.status == "active"  # unreachable is not unsubscribed


def test_error_21610_in_a_callback_opts_the_number_out_as_a_carrier_opt_out(
        app: Container, client: TestClient, twilio_api: FakeTwilioApi) -> None:
    sid = send_reply(app, client)
    assert post_status(client, twilio_api, sid, "failed", "21610") == 204
    assert post_status(client, twilio_api, sid, "failed", "21610") == 204  # repeated: one audit event
    with app.session_factory() as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.address == PHONE)).one()
        assert point.opted_out_at is not None and point.opted_out_method == "carrier"
        events = session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.kind == "consent.opted_out"))
        assert events == 1


def test_error_21614_in_a_callback_marks_the_number_invalid(app: Container, client: TestClient,
                                                            twilio_api: FakeTwilioApi) -> None:
    sid = send_reply(app, client)
    assert post_status(client, twilio_api, sid, "failed", "21614") == 204
    with app.session_factory() as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.channel == Channel.SMS.value)).one()
        assert point.status == "invalid" and "21614" in (point.status_reason or "")


def test_a_status_for_an_unknown_message_is_acknowledged_and_ignored(app: Container, client: TestClient) -> None:
    params = twilio_fixture("status_delivered.txt")
    assert post_twilio(client, STATUS, params).status_code == 204
    params = twilio_fixture("status_delivered.txt", MessageStatus="exploded", SmsStatus="exploded")
    assert post_twilio(client, STATUS, params).status_code == 204
    bad = twilio_fixture("status_failed_21610.txt", ErrorCode="21610; DROP TABLE")
    assert post_twilio(client, STATUS, bad).status_code == 400


def test_an_empty_auth_token_never_verifies_anything(live_settings: Settings, clock: FixedClock) -> None:
    blank = live_settings.model_copy(update={"twilio_auth_token": SecretStr("")})
    container = bootstrap(blank, clock=clock, channels={})
    try:
        with TestClient(create_app(container, modules=("web.webhooks",))) as client:
            params = inbound("hello")
            forged = twilio_signature(SMS, params, token="")
            assert post_twilio(client, SMS, params, signature=forged).status_code == 404
    finally:
        container.close()


def test_a_chunked_body_without_a_length_is_still_bounded(app: Container, client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"Body=" + b"x" * 1024 + b"&"

    headers = {**FORM, "X-Twilio-Signature": "anything"}
    response = client.post(SMS, content=chunks(), headers=headers)
    assert response.status_code == 413
    assert inbound_rows(app) == []
