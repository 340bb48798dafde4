"""Crash safety: a dispatcher killed with SIGKILL mid-batch loses nothing and sends nothing twice.

A real `accord dispatch` process sends through the real gate and the real Twilio client to a slow loopback fake
of Twilio, on PostgreSQL. It is killed while requests are in flight; a restarted dispatcher reconciles and
finishes. Every message then went out exactly once, or is flagged for review: never lost, never doubled.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from accord.bootstrap import Container
from core.clock import FixedClock
from scheduler.sweep import run_sweep
from storage.tables import ContactPoint, Message, OutboxItem
from tests.integration import dispatch_support as support
from tests.reminder_builders import build

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
ACCOUNTS = 30


@pytest.fixture
def pg_url() -> Iterator[str]:
    with support.pg_database() as url:
        yield url


def test_sigkill_mid_batch_then_restart_sends_each_message_once_or_flags_it(
    pg_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    with support.SlowTwilioApi(latency_s=0.25) as fake:
        settings = support.provider_settings(pg_url, support.config_dir(tmp_path, claim_batch=5), fake)
        container = support.container_for(settings, clock)
        try:
            _portfolio(container)
            assert run_sweep(container).planned == ACCOUNTS
            now = clock.now().isoformat()
            first = support.dispatch_process(settings, "--worker-id", "doomed", "--now", now)
            _wait_for_requests(fake, 8, first)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            in_flight = _statuses(container)
            assert in_flight.get("sending", 0) >= 1, in_flight  # it really died mid-batch

            later = (clock.now() + timedelta(minutes=10)).isoformat()  # past the lease
            second = support.dispatch_process(settings, "--once", "--worker-id", "survivor", "--now", later)
            output, _ = second.communicate(timeout=120)
            assert second.returncode == 0, output

            statuses = _statuses(container)
            assert set(statuses) <= {"sent", "review"}, statuses
            assert sum(statuses.values()) == ACCOUNTS
            per_number = fake.creates_per_number()
            assert max(per_number.values()) == 1, "a message went to the provider twice"
            _check_rows_against_provider(container, per_number)
        finally:
            container.close()


def _portfolio(container: Container) -> None:
    for _ in range(ACCOUNTS):
        build(container, dpd=10, stage="dpd_1_29", channels=("sms",))


def _wait_for_requests(fake: support.SlowTwilioApi, count: int, process: object) -> None:
    deadline = time.monotonic() + 90
    while len(fake.created()) < count:
        assert time.monotonic() < deadline, "the dispatcher never reached the provider"
        assert process.poll() is None, process.communicate()[0]  # type: ignore[attr-defined]
        time.sleep(0.01)


def _statuses(container: Container) -> dict[str, int]:
    with container.session_factory() as session:
        rows = session.scalars(select(OutboxItem.status)).all()
    counts: dict[str, int] = {}
    for status in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


def _check_rows_against_provider(container: Container, per_number: dict[str, int]) -> None:
    """A sent row reached the provider exactly once; a review row at most once, and its message says review."""
    with container.session_factory() as session:
        rows = session.execute(
            select(OutboxItem.status, ContactPoint.address, Message.status)
            .join(ContactPoint, ContactPoint.id == OutboxItem.contact_point_id)
            .outerjoin(Message, Message.id == OutboxItem.message_id)
        ).all()
    for outbox_status, address, message_status in rows:
        if outbox_status == "sent":
            assert per_number.get(address) == 1 and message_status == "sent", (address, message_status)
        else:
            assert per_number.get(address, 0) <= 1 and message_status == "review", (address, message_status)
