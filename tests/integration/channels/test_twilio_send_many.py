"""The Twilio adapter's concurrent batch send, against the loopback fakes of Twilio's REST API."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.channels.twilio_sms import TwilioSms
from core.enums import Channel
from core.ports import OutboundText, SendResult, TransientChannelError
from tests.fakes.loopback import CLIENT_TIMEOUT_S
from tests.fakes.twilio_api import FakeTwilioApi
from tests.integration.channels.support import ACCOUNT_SID, AUTH_TOKEN, MESSAGING_SERVICE_SID, PUBLIC_URL

ROOT = Path(__file__).resolve().parents[3]
LOOP_THREAD = "twilio-sms-loop"


def adapter(base_url: str, **options: float) -> TwilioSms:
    return TwilioSms(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, public_url=PUBLIC_URL,
                     messaging_service_sid=MESSAGING_SERVICE_SID, api_base=base_url, **options)  # type: ignore[arg-type]


@pytest.fixture
def sms(twilio_api: FakeTwilioApi) -> Iterator[TwilioSms]:
    sms = adapter(twilio_api.base_url, timeout_s=CLIENT_TIMEOUT_S)
    yield sms
    sms.close()


def texts(count: int, body: str = "Your payment is due") -> list[OutboundText]:
    return [OutboundText(Channel.SMS, f"+1415555{i:04d}", f"{body} ({i})", message_id=i, idempotency_key=f"r:{i}")
            for i in range(count)]


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == LOOP_THREAD]


def test_a_mixed_batch_returns_each_messages_outcome_in_order(sms: TwilioSms, twilio_api: FakeTwilioApi) -> None:
    batch = texts(8)
    batch[6] = OutboundText(Channel.SMS, batch[6].address, "  ", message_id=6, idempotency_key="r:6")
    for index, fault in {1: "21610", 2: "500", 3: "429:12", 4: "timeout", 5: "429:3", 7: "21211"}.items():
        twilio_api.fail_recipient(batch[index].address, fault)

    results = sms.send_many(batch)

    assert len(results) == len(batch)
    accepted = results[0]
    assert isinstance(accepted, SendResult) and accepted.accepted
    assert accepted.provider_message_id in twilio_api.messages
    assert twilio_api.messages[accepted.provider_message_id or ""]["to"] == batch[0].address
    unsubscribed, invalid = results[1], results[7]
    assert isinstance(unsubscribed, SendResult) and isinstance(invalid, SendResult)
    assert (unsubscribed.accepted, unsubscribed.permanent, unsubscribed.error_code) == (False, True, "21610")
    assert (invalid.accepted, invalid.permanent, invalid.error_code) == (False, True, "21211")
    server_error, limited_12, timed_out, limited_3 = results[2], results[3], results[4], results[5]
    assert isinstance(server_error, TransientChannelError) and server_error.retry_after_s is None
    # Two 429s answered concurrently: each message gets its own reply's Retry-After, not the other's.
    assert isinstance(limited_12, TransientChannelError) and limited_12.retry_after_s == 12.0
    assert isinstance(limited_3, TransientChannelError) and limited_3.retry_after_s == 3.0
    assert isinstance(timed_out, TransientChannelError) and "unreachable" in str(timed_out)
    empty = results[6]
    assert isinstance(empty, SendResult) and empty.error_code == "empty_text" and empty.permanent
    assert len(twilio_api.created()) == 7  # the empty text never reached Twilio


def test_requests_overlap_up_to_max_in_flight(twilio_api: FakeTwilioApi) -> None:
    hold = 0.4
    twilio_api.reply_delay_s = hold
    sms = adapter(twilio_api.base_url, timeout_s=5.0, max_in_flight=16)
    try:
        sms.send_many(texts(2))  # connect first: the timing below is about the sends

        started = time.monotonic()
        results = sms.send_many(texts(16))
        one_batch = time.monotonic() - started
        assert all(isinstance(r, SendResult) and r.accepted for r in results)
        assert one_batch < 4 * hold, f"16 held requests took {one_batch:.2f}s: they did not overlap"

        twilio_api.requests.clear()
        results = sms.send_many(texts(32))
        assert all(isinstance(r, SendResult) and r.accepted for r in results)
        arrivals = sorted(r.at for r in twilio_api.requests)
        # The 17th request waits for one of the first 16 to finish: never more than 16 on the wire.
        assert arrivals[15] - arrivals[0] < hold / 2
        assert arrivals[16] - arrivals[0] >= hold * 0.9
    finally:
        sms.close()


def test_send_and_send_many_from_two_threads_at_once(twilio_api: FakeTwilioApi) -> None:
    # No request here should time out: the timeout is far above the queueing that 50 held replies meet on a busy
    # 2-core machine, where the fake server, the client's loop and both sending threads share one interpreter.
    sms = adapter(twilio_api.base_url, timeout_s=10.0)
    twilio_api.reply_delay_s = 0.05
    singles = texts(10, "single")
    batch = [OutboundText(Channel.SMS, f"+1212555{i:04d}", "batch", i, f"b:{i}") for i in range(40)]

    def one_by_one() -> list[SendResult]:
        return [sms.send(m) for m in singles]

    try:
        with ThreadPoolExecutor(2) as pool:
            sent_singly = pool.submit(one_by_one)
            sent_as_batch = pool.submit(sms.send_many, batch)
            singles_results, batch_results = sent_singly.result(60), sent_as_batch.result(60)
    finally:
        sms.close()

    assert all(r.accepted for r in singles_results)
    assert all(isinstance(r, SendResult) and r.accepted for r in batch_results), [r for r in batch_results if not isinstance(r, SendResult)][:3]
    sids = [r.provider_message_id for r in singles_results] + [r.provider_message_id for r in batch_results
                                                              if isinstance(r, SendResult)]
    assert len(set(sids)) == 50
    recipients = sorted(form["To"] for form in twilio_api.created())
    assert recipients == sorted(m.address for m in singles + batch)


def test_close_stops_the_loop_thread_and_a_later_send_starts_a_new_one(twilio_api: FakeTwilioApi) -> None:
    before = len(loop_threads())
    sms = adapter(twilio_api.base_url)
    assert len(loop_threads()) == before  # started on first use, not when built
    assert sms.send(texts(1)[0]).accepted
    assert len(loop_threads()) == before + 1

    sms.close()
    assert len(loop_threads()) == before
    sms.close()  # twice is harmless

    assert sms.send(texts(1)[0]).accepted
    assert len(loop_threads()) == before + 1
    sms.close()
    assert len(loop_threads()) == before


def test_an_empty_batch_sends_nothing(sms: TwilioSms, twilio_api: FakeTwilioApi) -> None:
    assert sms.send_many([]) == []
    assert twilio_api.requests == []


def test_a_large_batch_is_sent_once_per_recipient() -> None:
    """bench.fast_twilio in its own process: the functional fake is too slow for hundreds of messages."""
    account_sid, auth_token = "AC" + "7" * 32, "e" * 32
    fake = subprocess.Popen([sys.executable, "-m", "bench.fast_twilio", account_sid, auth_token], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert fake.stdout is not None
        base_url = fake.stdout.readline().strip()
        sms = TwilioSms(account_sid=account_sid, auth_token=auth_token, public_url=PUBLIC_URL,
                        messaging_service_sid=MESSAGING_SERVICE_SID, api_base=base_url)
        try:
            results = sms.send_many(texts(500))
        finally:
            sms.close()
        counts, _ = fake.communicate("", timeout=30)
    finally:
        if fake.poll() is None:
            fake.kill()
            fake.wait()
    assert all(isinstance(r, SendResult) and r.accepted for r in results)
    assert len({r.provider_message_id for r in results if isinstance(r, SendResult)}) == 500
    assert counts.split() == ["500", "1"]  # creates in all, most for any one recipient
