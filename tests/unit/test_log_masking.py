"""Personal data and secrets never reach a log line unmasked, whatever key or string they hide in."""

from __future__ import annotations

import io
import json
import logging

import structlog
from pydantic import SecretStr

from accord.log_masking import mask_address, mask_event, mask_name, mask_phone, scrub_string
from accord.logging_setup import configure_logging
from accord.settings import Settings


def test_phone_keeps_country_code_and_last_four() -> None:
    assert mask_phone("+8613812345678") == "+86*******5678"
    assert mask_phone("+12125551234") == "+1******1234"
    assert mask_phone("+447911123456") == "+44******3456"


def test_names_keep_initials_only() -> None:
    assert mask_name("Zhang Wei") == "Z**** W**"
    assert mask_name("张伟") == "张*"
    assert mask_name("A") == "*"


def test_addresses_by_shape() -> None:
    assert mask_address("+8613812345678") == "+86*******5678"
    assert mask_address("123456789") == "*****6789"
    assert mask_address("-1001234567") == "*******4567"
    assert mask_address("ana@example.com") == "a***@example.com"


def test_event_masks_known_keys() -> None:
    event = {
        "event": "inbound.handled",
        "phone": "+8613812345678",
        "telegram_chat_id": 987654321,
        "full_name": "李娜",
        "name": "Maria Lopez",
        "address": "+12125551234",
        "text": "my card is 4111 and I was born 1980",
        "card_last4": "4242",
        "birth_year": 1980,
        "cardholder_id": 17,
        "ok": True,
    }
    masked = mask_event(event)
    assert masked["phone"] == "+86*******5678"
    assert masked["telegram_chat_id"] == "*****4321"
    assert masked["full_name"] == "李*"
    assert masked["name"] == "M**** L****"
    assert masked["address"] == "+1******1234"
    assert masked["text"] == "[35 chars]"
    assert masked["card_last4"] == "****"
    assert masked["birth_year"] == "****"
    assert masked["cardholder_id"] == 17 and masked["ok"] is True


def test_nested_structures_are_masked_by_their_keys() -> None:
    masked = mask_event({"event": "x", "payload": {"from": "+8613812345678", "items": [{"body": "hi"}]}})
    assert masked["payload"] == {"from": "+86*******5678", "items": [{"body": "[2 chars]"}]}


def test_free_strings_are_scanned_for_phones_cards_and_credentials() -> None:
    text = scrub_string(
        "send to +86 138 1234 5678 failed; card 4111111111111111; "
        "db postgresql://accord:hunter2@db:5432/accord; bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0; "
        "header Bearer abcdefghijklmnop"
    )
    assert "138 1234" not in text and "+86" in text and "5678" in text
    assert "4111111111111111" not in text and "1111" in text
    assert "hunter2" not in text and "postgresql://accord:***@db" in text
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0" not in text
    assert "abcdefghijklmnop" not in text


def test_secret_keys_are_never_logged() -> None:
    masked = mask_event({
        "event": "config",
        "twilio_auth_token": "abc123",
        "password": "pw",
        "Authorization": "Bearer x",
        "telegram_webhook_secret": SecretStr("s"),
        "author": "bot",
    })
    assert masked["twilio_auth_token"] == masked["password"] == masked["Authorization"] == "[secret]"
    assert masked["telegram_webhook_secret"] == "[secret]"
    assert masked["author"] == "bot"


def _capture(json_output: bool) -> tuple[io.StringIO, structlog.stdlib.BoundLogger]:
    stream = io.StringIO()
    settings = Settings(accord_env="production" if json_output else "test",
                        accord_secret_key="x" * 40, accord_internal_api_token="y" * 40,
                        database_url="postgresql://u@h/db", _env_file=None)  # type: ignore[call-arg]
    configure_logging(settings, stream=stream)
    return stream, structlog.get_logger("test")


def test_json_lines_in_production_are_masked() -> None:
    stream, log = _capture(json_output=True)
    log.info("inbound from +8613812345678", phone="+8613812345678", full_name="Zhang Wei", cardholder_id=3)
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["event"] == "inbound from +86*******5678"
    assert line["phone"] == "+86*******5678"
    assert line["full_name"] == "Z**** W**"
    assert line["cardholder_id"] == 3
    assert line["level"] == "info" and "timestamp" in line
    assert "13812345678" not in stream.getvalue()


def test_stdlib_loggers_and_tracebacks_are_masked_too() -> None:
    stream, log = _capture(json_output=True)
    logging.getLogger("uvicorn.error").warning("client +12125551234 said hello")
    try:
        raise ValueError("bad number +12125551234")
    except ValueError:
        log.exception("failed")
    output = stream.getvalue()
    assert "2125551234" not in output
    assert "+1******1234 said hello" in output and "ValueError: bad number +1******1234" in output


def test_console_lines_outside_production_are_masked() -> None:
    stream, log = _capture(json_output=False)
    log.info("hello", phone="+8613812345678")
    output = stream.getvalue()
    assert "+86*******5678" in output and "13812345678" not in output



def test_bot_token_inside_a_bot_api_url_is_masked() -> None:
    # httpx logs request URLs at INFO; the token sits right after "/bot" with no word boundary.
    text = scrub_string('HTTP Request: POST https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0/sendMessage')
    assert "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0" not in text


def test_a_secret_in_a_query_string_is_masked() -> None:
    # Rasa's REST channel takes its auth token as ?token=; httpx logs the whole URL.
    text = scrub_string('HTTP Request: POST http://127.0.0.1:5005/webhooks/rest/webhook?token=1Lb5nHeI-0huYNzi&x=1 "200"')
    assert "1Lb5nHeI-0huYNzi" not in text
    assert "?token=[secret]&x=1" in text


def test_httpx_request_lines_stay_below_info() -> None:
    # One line per outbound HTTP call (every dialogue turn, every provider send) is noise at INFO.
    _capture(json_output=True)
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert logging.getLogger("httpx").isEnabledFor(logging.WARNING)
