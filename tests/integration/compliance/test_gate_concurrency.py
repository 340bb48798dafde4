"""Workers racing to send to one cardholder on PostgreSQL never exceed the cap: the ledger row serialises them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from accord.bootstrap import Container
from compliance.audit import verify
from core.clock import FixedClock
from core.enums import Channel
from storage.db import make_engine, make_session_factory
from storage.tables import Message
from tests.compliance_builders import add_holder, make_gate, reminder
from tests.fakes.channels import recording_channels

NOON_NY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
WORKERS, ATTEMPTS = 8, 4


@pytest.mark.postgres
def test_racing_workers_never_exceed_the_cap(container: Container) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("the race is about PostgreSQL row locks")
    clock = FixedClock(NOON_NY)
    holders = [add_holder(container.session_factory, NOON_NY, ext=f"R{i}", jurisdiction=j)
               for i, j in enumerate(("US-MA", "US"))]
    channels = recording_channels()
    barrier = threading.Barrier(WORKERS)
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        engine = make_engine(container.settings.database_url, pool_size=2)
        gate, _ = make_gate(make_session_factory(engine), clock, channels)  # one gate per worker, like processes
        try:
            barrier.wait()
            for _ in range(ATTEMPTS):
                for holder in holders:
                    status = gate.deliver(reminder(holder)).status
                    with lock:
                        outcomes.append(status)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    with container.session_factory() as s:
        sent = dict(s.execute(select(Message.cardholder_id, func.count()).where(Message.status == "sent")
                              .group_by(Message.cardholder_id)).tuples().all())
        assert sent == {holders[0].id: 2, holders[1].id: 7}  # US-MA 2 in 7 days, US 7 in 7 days
        assert verify(s).ok
    assert len(channels[Channel.SMS].sent) == 9
    assert outcomes.count("sent") == 9 and outcomes.count("blocked") == WORKERS * ATTEMPTS * 2 - 9
