"""The Twilio adapter: the real `twilio` Client against the loopback fake of Twilio's REST API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.channels.twilio_sms import TwilioSms
from core.enums import Channel
from core.ports import OutboundText, TransientChannelError
from tests.fakes.loopback import CLIENT_TIMEOUT_S
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.channels.support import ACCOUNT_SID, AUTH_TOKEN, MESSAGING_SERVICE_SID, PUBLIC_URL

TO = "+14155550123"


@pytest.fixture
def sms(twilio_api: FakeTwilioApi) -> Iterator[TwilioSms]:
    adapter = TwilioSms(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, public_url=PUBLIC_URL,
                        messaging_service_sid=MESSAGING_SERVICE_SID, api_base=twilio_api.base_url, timeout_s=CLIENT_TIMEOUT_S)
    yield adapter
    adapter.close()


def text(body: str = "Hello from Accord Bank", to: str = TO) -> OutboundText:
    return OutboundText(Channel.SMS, to, body, message_id=7, idempotency_key="reminder:7")


def test_a_send_goes_through_the_messaging_service_with_a_status_callback(sms: TwilioSms,
                                                                         twilio_api: FakeTwilioApi) -> None:
    result = sms.send(text("中文 + English + 😀"))

    assert result.accepted and not result.permanent
    assert result.provider_message_id in twilio_api.messages
    [form] = twilio_api.created()
    assert form == {"To": TO, "Body": "中文 + English + 😀", "MessagingServiceSid": MESSAGING_SERVICE_SID,
                    "StatusCallback": PUBLIC_URL + "/webhooks/twilio/status"}
    [request] = twilio_api.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.headers["authorization"].startswith("Basic ")


def test_a_from_number_is_used_when_there_is_no_messaging_service(twilio_api: FakeTwilioApi) -> None:
    adapter = TwilioSms(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, public_url=PUBLIC_URL + "/",
                        from_number="+14155550100", api_base=twilio_api.base_url)
    assert adapter.send(text()).accepted
    [form] = twilio_api.created()
    assert form["From"] == "+14155550100" and "MessagingServiceSid" not in form
    assert form["StatusCallback"] == PUBLIC_URL + "/webhooks/twilio/status"


def test_a_sender_is_required() -> None:
    with pytest.raises(ValueError, match="TWILIO_MESSAGING_SERVICE_SID or TWILIO_FROM_NUMBER"):
        TwilioSms(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, public_url=PUBLIC_URL)


@pytest.mark.parametrize(("fault", "code"), [("21610", "21610"), ("21211", "21211"), ("21614", "21614")])
def test_address_errors_are_permanent_with_twilios_code(sms: TwilioSms, twilio_api: FakeTwilioApi, fault: str,
                                                        code: str) -> None:
    twilio_api.fail_next(fault)
    result = sms.send(text())
    assert (result.accepted, result.permanent, result.error_code, result.provider_message_id) == (
        False, True, code, None)
    assert result.error_detail


@pytest.mark.parametrize("fault", ["500", "429", "timeout"])
def test_timeouts_server_errors_and_rate_limits_are_transient(sms: TwilioSms, twilio_api: FakeTwilioApi,
                                                              fault: str) -> None:
    twilio_api.fail_next(fault)
    with pytest.raises(TransientChannelError):
        sms.send(text())
    assert sms.send(text()).accepted  # the fault was one-off: the retry goes through


def test_a_429_carries_twilios_retry_after(sms: TwilioSms, twilio_api: FakeTwilioApi) -> None:
    twilio_api.retry_after = "12"
    twilio_api.fail_next("429")
    with pytest.raises(TransientChannelError) as caught:
        sms.send(text())
    assert caught.value.retry_after_s == 12.0


def test_refused_credentials_are_retried_not_blamed_on_the_number(twilio_api: FakeTwilioApi) -> None:
    adapter = TwilioSms(account_sid=ACCOUNT_SID, auth_token="wrong-token", public_url=PUBLIC_URL,
                        messaging_service_sid=MESSAGING_SERVICE_SID, api_base=twilio_api.base_url)
    with pytest.raises(TransientChannelError, match="credentials"):
        adapter.send(text())


def test_an_unreachable_api_is_transient() -> None:
    adapter = TwilioSms(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, public_url=PUBLIC_URL,
                        messaging_service_sid=MESSAGING_SERVICE_SID, api_base="http://127.0.0.1:9", timeout_s=CLIENT_TIMEOUT_S)
    with pytest.raises(TransientChannelError, match="unreachable"):
        adapter.send(text())
    assert adapter.lookup("SM" + "0" * 32) is None


def test_lookup_reports_the_providers_status_in_accords_words(sms: TwilioSms, twilio_api: FakeTwilioApi) -> None:
    sid = sms.send(text()).provider_message_id
    assert sid is not None
    assert sms.lookup(sid) == "queued"  # Twilio says "accepted" for a messaging service
    for twilio_status, accord_status in [("sending", "sending"), ("sent", "sent"), ("delivered", "delivered"),
                                         ("undelivered", "failed"), ("failed", "failed")]:
        twilio_api.set_status(sid, twilio_status)
        assert sms.lookup(sid) == accord_status
    assert sms.lookup("SM" + "f" * 32) is None  # unknown to Twilio: cannot tell


def test_an_empty_text_is_refused_without_calling_twilio(sms: TwilioSms, twilio_api: FakeTwilioApi) -> None:
    result = sms.send(text("   "))
    assert result.permanent and result.error_code == "empty_text"
    assert twilio_api.requests == []
