"""Provider faults through the whole path: dispatcher -> real gate -> real Twilio client -> loopback fake Twilio.

Timeouts, 500 and 429 are retried with backoff (429's Retry-After honoured); permanent refusals fail the row once
and mark the contact point, so the next sweep does not choose it again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from bot.channels.sandbox import SandboxChannel
from bot.channels.twilio_sms import TwilioSms
from core.clock import FixedClock
from core.enums import Channel
from scheduler.config import ProviderLimits
from scheduler.dispatcher import Dispatcher
from scheduler.runtime import scheduler_config
from scheduler.sweep import run_sweep
from storage.tables import ContactPoint, Message, OutboxItem
from tests.fakes.loopback import CLIENT_TIMEOUT_S
from tests.fakes.twilio_api import FakeTwilioApi
from tests.reminder_builders import build

SID, TOKEN, SERVICE = "AC" + "3" * 32, "4" * 32, "MG" + "5" * 32


@pytest.fixture
def twilio() -> Iterator[FakeTwilioApi]:
    with FakeTwilioApi(SID, TOKEN) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def wired(settings: Settings, clock: FixedClock, twilio: FakeTwilioApi) -> Iterator[Container]:
    sms = TwilioSms(account_sid=SID, auth_token=TOKEN, public_url="https://accord.example.test",
                    messaging_service_sid=SERVICE, api_base=twilio.base_url, timeout_s=CLIENT_TIMEOUT_S)
    container = bootstrap(settings, clock=clock,
                          channels={Channel.SMS: sms, Channel.TELEGRAM: SandboxChannel(Channel.TELEGRAM)})
    try:
        yield container
    finally:
        container.close()


def _dispatcher(container: Container) -> Dispatcher:
    # The fake has no carrier behind it: lift Twilio's sender limit, which these tests are not about.
    config = scheduler_config(container)
    container.extras["scheduler_config"] = config.model_copy(
        update={"rate_limits": {**config.rate_limits, "twilio": ProviderLimits()}})
    return Dispatcher(container, "faults", sleep=lambda _s: None, unit_random=lambda: 0.5)


def _row(container: Container) -> OutboxItem:
    with container.session_factory() as session:
        return session.scalars(select(OutboxItem)).one()


def test_timeout_500_and_429_are_retried_with_backoff(wired: Container, clock: FixedClock,
                                                      twilio: FakeTwilioApi) -> None:
    build(wired, dpd=10, stage="dpd_1_29", channels=("sms",))
    run_sweep(wired)
    twilio.retry_after = "600"
    twilio.fail_next("timeout", "500", "429")
    dispatcher = _dispatcher(wired)
    waits = []
    for expected in ("retry", "retry", "retry", "sent"):
        assert dispatcher.drain().outcomes == {expected: 1}
        row = _row(wired)
        if expected == "retry":
            waits.append((row.not_before - clock.now()).total_seconds())
            clock.set(row.not_before)
    assert waits[:2] == [30, 60] and waits[2] >= 600  # exponential backoff; Retry-After is a floor
    row = _row(wired)
    assert (row.status, row.attempts) == ("sent", 4)
    assert len(twilio.created()) == 4
    with wired.session_factory() as session:
        attempts = session.scalars(select(Message.status).order_by(Message.id)).all()
    assert attempts == ["failed", "failed", "failed", "sent"]  # every attempt is on record


@pytest.mark.parametrize(("code", "point_status", "opted_out"), [("21610", "active", True),
                                                                  ("21211", "invalid", False)])
def test_permanent_refusals_fail_once_and_mark_the_contact_point(
    wired: Container, clock: FixedClock, twilio: FakeTwilioApi, code: str, point_status: str, opted_out: bool
) -> None:
    build(wired, dpd=10, stage="dpd_1_29", channels=("sms",))
    run_sweep(wired)
    twilio.fail_next(code)
    assert _dispatcher(wired).drain().outcomes == {"failed": 1}
    row = _row(wired)
    assert row.status == "failed" and row.attempts == 1 and code in (row.last_error or "")
    with wired.session_factory() as session:
        point = session.scalars(select(ContactPoint)).one()
    assert point.status == point_status and (point.opted_out_at is not None) == opted_out
    clock.advance(timedelta(days=7))
    report = run_sweep(wired)
    assert report.planned == 0 and report.skipped["no_usable_contact"] + report.skipped["stage_not_current"] == 1
    assert len(twilio.created()) == 1
