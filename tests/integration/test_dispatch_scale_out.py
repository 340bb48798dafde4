"""Scale-out safety: four `accord dispatch` processes on one PostgreSQL drain 10,000 outbox rows.

Each cardholder has four reminders queued and the CN pack allows three a day, so the workers race on every
cardholder's cap. The provider is a zero-latency Twilio fake with a shared sender limit configured. Afterwards:
nothing was sent twice, no cardholder got more than the cap, and the provider never saw more than the limit.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from core.clock import FixedClock
from scheduler.rate_limits import SharedBucket
from storage.tables import ContactPoint, OutboxItem
from tests.integration import dispatch_support as support
from tests.reminder_builders import bulk_sms_portfolio

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
]
HOLDERS, ROWS_EACH, CAP = 2_500, 4, 3  # CN: at most 3 contacts in any 24 hours
SENDER_PER_S, SENDER_BURST = 400, 40
WORKERS = 4


@pytest.fixture
def pg_url() -> Iterator[str]:
    with support.pg_database(lazy_commits=True) as url:
        yield url


def test_four_dispatchers_drain_ten_thousand_rows_without_double_sends_or_exceeded_caps(
    pg_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    with support.SlowTwilioApi(latency_s=0) as fake:
        config = support.config_dir(tmp_path, claim_batch=25, sender_per_s=SENDER_PER_S, sender_burst=SENDER_BURST,
                                    idle_sleep_s=0.2)
        settings = support.provider_settings(pg_url, config, fake)
        container = support.container_for(settings, clock)
        try:
            bulk_sms_portfolio(container, HOLDERS, ROWS_EACH)
            for returncode, output in _drain_with_workers(settings, container, clock):
                assert returncode == 0, output

            with container.session_factory() as session:
                statuses = dict(session.execute(select(OutboxItem.status, func.count())
                                                .group_by(OutboxItem.status)).tuples().all())
                by_worker = dict(session.execute(select(OutboxItem.claimed_by, func.count())
                                                 .group_by(OutboxItem.claimed_by)).tuples().all())
                sent_per_number = Counter(dict(session.execute(
                    select(ContactPoint.address, func.count())
                    .join(OutboxItem, OutboxItem.contact_point_id == ContactPoint.id)
                    .where(OutboxItem.status == "sent").group_by(ContactPoint.address)).tuples().all()))
            assert statuses == {"sent": HOLDERS * CAP, "blocked": HOLDERS * (ROWS_EACH - CAP)}, statuses
            assert set(by_worker) == {f"w{n}" for n in range(WORKERS)}, by_worker  # all four did work
            creates = fake.creates_per_number()
            assert sum(creates.values()) == HOLDERS * CAP  # zero double sends
            assert creates == sent_per_number and max(creates.values()) == CAP  # no cap exceeded
            assert _busiest_second(fake) <= _sender_bound(SENDER_PER_S, SENDER_BURST)  # the shared limit held
        finally:
            container.close()


def test_four_dispatchers_together_stay_under_one_sender_limit(pg_url: str, tmp_path: Path,
                                                               clock: FixedClock) -> None:
    rate, burst, rows = 40, 10, 600
    with support.SlowTwilioApi(latency_s=0) as fake:
        config = support.config_dir(tmp_path, claim_batch=10, sender_per_s=rate, sender_burst=burst, idle_sleep_s=0.2)
        settings = support.provider_settings(pg_url, config, fake)
        container = support.container_for(settings, clock)
        try:
            bulk_sms_portfolio(container, rows, 1)
            _drain_with_workers(settings, container, clock)
        finally:
            container.close()
    times = sorted(r.at for r in fake.requests_to("/Messages.json", "POST"))
    assert len(times) == rows
    # Sustained: the four together never beat the bucket (burst + rate x time), so the limit set the pace.
    assert (rows - burst) / (times[-1] - times[0]) <= rate * 1.05
    assert _busiest_second(fake) <= _sender_bound(rate, burst)  # any single second


def _drain_with_workers(settings: Any, container: Any, clock: FixedClock) -> list[tuple[int, str]]:
    """Start the dispatcher processes on the test's clock, wait until the outbox is drained, stop them with SIGTERM;
    each one's exit status and output."""
    now = clock.now().isoformat()
    workers = [support.dispatch_process(settings, "--worker-id", f"w{n}", "--now", now) for n in range(WORKERS)]
    try:
        _wait_until_drained(container, workers)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        outputs = [worker.communicate(timeout=30)[0] for worker in workers]
        return [(worker.returncode, output) for worker, output in zip(workers, outputs, strict=True)]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


def _wait_until_drained(container: object, workers: list) -> None:  # type: ignore[type-arg]
    deadline = time.monotonic() + 900
    while True:
        with container.session_factory() as session:  # type: ignore[attr-defined]
            open_rows = session.scalar(select(func.count()).select_from(OutboxItem)
                                       .where(OutboxItem.status.in_(("queued", "sending", "deferred"))))
        if open_rows == 0:
            return
        for worker in workers:
            assert worker.poll() is None, worker.communicate()[0]
        assert time.monotonic() < deadline, f"{open_rows} rows still open"
        time.sleep(0.5)


def _sender_bound(rate: int, burst: int) -> int:
    """The most creates the provider may see in any one second with a shared sender bucket of `rate` and `burst`
    (scheduler/rate_limits.py): the bucket's rate and burst, plus what each worker may still hold of a chunk it
    reserved earlier (a tenth of a second's worth), plus half a second at the rate for scheduling delay between a
    token's grant and the request's arrival at the fake (four workers, PostgreSQL and the fake share two cores).
    Without the shared bucket, four workers would each send at the full rate: about four times this."""
    chunk = SharedBucket.chunk_for(rate)
    return burst + rate + WORKERS * (chunk - 1) + rate // 2


def _busiest_second(fake: support.SlowTwilioApi) -> int:
    """The most creates the provider received in any one-second window."""
    times = sorted(r.at for r in fake.requests_to("/Messages.json", "POST"))
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best
