"""Claiming and dispatching outbox rows on SQLite and PostgreSQL: ownership, outcomes, retries, rate limits and
reconciliation after a crash. The gate here is scripted; the end-to-end tests use the real one."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from accord.bootstrap import Container
from core.clock import FixedClock
from core.enums import MessagePurpose
from scheduler.claim import claim, wake_deferred
from scheduler.config import ProviderLimits
from scheduler.dispatcher import Dispatcher
from scheduler.outbox import insert_new, outbox_row
from scheduler.rate_limits import RateLimiter
from scheduler.reconcile import Reconciler
from scheduler.runtime import scheduler_config
from scheduler.sweep import run_sweep
from storage.db import transaction
from storage.tables import Account, Message, OutboxItem
from tests.fakes.scripted_gate import Answer, ScriptedGate
from tests.reminder_builders import build, outbox_rows


def _queue(container: Container, count: int, *, not_before: datetime | None = None, priority: int = 100,
           contact_point_id: int | None = None) -> list[int]:
    now = container.clock.now()
    account_id = build(container, dpd=10, stage="dpd_1_29")
    with transaction(container.session_factory) as session:
        holder_id = session.get_one(Account, account_id).cardholder_id
        base = session.scalar(select(OutboxItem.id).order_by(OutboxItem.id.desc()).limit(1)) or 0
        rows = [outbox_row(key=f"test:{account_id}:{base + i}", cardholder_id=holder_id, account_id=account_id,
                           contact_point_id=contact_point_id, channel="sms", purpose=MessagePurpose.PAYMENT_THANKS,
                           template_id="payment.thanks", language="en", params={}, not_before=not_before or now,
                           now=now, priority=priority) for i in range(count)]
        insert_new(session, rows)
        return list(session.scalars(select(OutboxItem.id).where(OutboxItem.account_id == account_id)))


def _dispatcher(container: Container, gate: ScriptedGate, worker: str = "w1", **kwargs: object) -> Dispatcher:
    return Dispatcher(container, worker, gate=gate, sleep=lambda _s: None, unit_random=lambda: 0.5, **kwargs)


def _gate(container: Container) -> ScriptedGate:
    return ScriptedGate(container.session_factory, container.clock)


def _row(container: Container, row_id: int) -> OutboxItem:
    with container.session_factory() as session:
        return session.get_one(OutboxItem, row_id)


# -- claiming ------------------------------------------------------------------------------------------------------

def test_claim_takes_due_rows_most_urgent_first_and_only_once(container: Container) -> None:
    now = container.clock.now()
    later = _queue(container, 2, not_before=now + timedelta(hours=1))
    routine = _queue(container, 3, priority=100)
    urgent = _queue(container, 1, priority=10)
    first = claim(container.engine, "w1", 3, now)
    assert [row.id for row in first] == sorted(urgent + routine[:2])
    second = claim(container.engine, "w2", 10, now)
    assert [row.id for row in second] == routine[2:]
    assert claim(container.engine, "w3", 10, now) == []
    statuses = {row.id: (row.status, row.claimed_by) for row in outbox_rows(container)}
    assert statuses[urgent[0]] == ("sending", "w1") and statuses[routine[2]] == ("sending", "w2")
    assert {statuses[i][0] for i in later} == {"queued"}


def test_concurrent_claimers_never_share_a_row(container: Container) -> None:
    ids = set(_queue(container, 200))
    now = container.clock.now()
    taken: dict[str, list[int]] = {}
    start = threading.Barrier(4)

    def worker(name: str) -> None:
        start.wait()
        mine: list[int] = []
        while batch := claim(container.engine, name, 7, now):
            mine += [row.id for row in batch]
        taken[name] = mine

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [row_id for mine in taken.values() for row_id in mine]
    assert len(everything) == len(set(everything)) == len(ids) and set(everything) == ids


def test_deferred_rows_return_to_the_queue_when_their_time_comes(container: Container, clock: FixedClock) -> None:
    (row_id,) = _queue(container, 1)
    with transaction(container.session_factory) as session:
        session.execute(update(OutboxItem).values(status="deferred", not_before=clock.now() + timedelta(hours=2)))
    assert wake_deferred(container.engine, clock.now()) == 0
    clock.advance(timedelta(hours=2))
    assert wake_deferred(container.engine, clock.now()) == 1
    assert [row.id for row in claim(container.engine, "w1", 5, clock.now())] == [row_id]


# -- outcomes ------------------------------------------------------------------------------------------------------

def test_sent_reminder_counts_as_a_touch(container: Container) -> None:
    account_id = build(container, dpd=10, stage="dpd_1_29")
    run_sweep(container)
    gate = _gate(container)
    report = _dispatcher(container, gate).drain()
    assert report.outcomes == {"sent": 1}
    (row,) = outbox_rows(container)
    assert row.status == "sent" and row.message_id is not None and row.attempts == 1
    with container.session_factory() as session:
        account = session.get_one(Account, account_id)
    assert account.touches_in_stage == 1 and account.last_reminder_at == container.clock.now()
    (request,) = gate.requests
    assert (request.outbox_id, request.author, request.template_id) == (row.id, "scheduler", "reminder.dpd_1_29")


def test_deferred_blocked_and_review_outcomes(container: Container) -> None:
    until = container.clock.now() + timedelta(hours=9)
    deferred, blocked, review = _queue(container, 3)
    gate = _gate(container)
    gate.answer(Answer("deferred", ("outside_contact_hours",), defer_until=until),
                Answer("blocked", ("opted_out",)), Answer("review", error="provider answer unclear"))
    report = _dispatcher(container, gate).drain()
    assert report.outcomes == {"deferred": 1, "blocked": 1, "review": 1}
    assert (_row(container, deferred).status, _row(container, deferred).not_before) == ("deferred", until)
    assert (_row(container, blocked).status, _row(container, blocked).last_error) == ("blocked", "opted_out")
    assert _row(container, review).status == "review"


def test_transient_failures_retry_with_backoff_until_max_attempts(container: Container, clock: FixedClock) -> None:
    (row_id,) = _queue(container, 1)
    gate = _gate(container)
    gate.default = Answer("failed", retryable=True, error="twilio HTTP 503")
    dispatcher = _dispatcher(container, gate)
    delays = []
    for attempt in range(1, 5):
        assert dispatcher.drain().outcomes == {"retry": 1}
        row = _row(container, row_id)
        assert (row.status, row.attempts) == ("queued", attempt)
        delays.append((row.not_before - clock.now()).total_seconds())
        clock.set(row.not_before)
    assert delays == [30, 60, 120, 240]  # base 30 s, factor 2 (jitter centred by unit_random=0.5)
    assert dispatcher.drain().outcomes == {"failed": 1}
    assert _row(container, row_id).status == "failed" and _row(container, row_id).attempts == 5


def test_permanent_failure_is_not_retried(container: Container) -> None:
    (row_id,) = _queue(container, 1)
    gate = _gate(container)
    gate.answer(Answer("failed", retryable=False, error="21610 unsubscribed"))
    assert _dispatcher(container, gate).drain().outcomes == {"failed": 1}
    assert _row(container, row_id).status == "failed" and len(gate.requests) == 1


def test_reminder_that_lost_its_reason_is_cancelled_not_sent(container: Container) -> None:
    paused, moved, fine = (build(container, dpd=10, stage="dpd_1_29") for _ in range(3))
    run_sweep(container)
    with transaction(container.session_factory) as session:
        session.get_one(Account, paused).reminders_paused_reason = "dispute"
        session.get_one(Account, moved).stage = "current"
    gate = _gate(container)
    report = _dispatcher(container, gate).drain()
    assert report.outcomes == {"cancelled": 2, "sent": 1}
    assert [request.account_id for request in gate.requests] == [fine]


def test_gate_error_without_a_recorded_message_requeues(container: Container) -> None:
    (row_id,) = _queue(container, 1)
    gate = _gate(container)
    gate.answer(Answer(raise_error=RuntimeError("database went away")))
    assert _dispatcher(container, gate).drain().outcomes == {"queued": 1}
    row = _row(container, row_id)
    assert row.status == "queued" and row.attempts == 1 and row.not_before > container.clock.now()


# -- rate limits ---------------------------------------------------------------------------------------------------

def _limited(container: Container, limits: ProviderLimits) -> None:
    config = scheduler_config(container)
    container.extras["scheduler_config"] = config.model_copy(
        update={"rate_limits": {**config.rate_limits, "sandbox": limits}})


def test_a_recipient_limit_hands_the_second_message_back(container: Container) -> None:
    _limited(container, ProviderLimits(per_recipient_per_s=0.1))  # one message per 10 s per recipient
    first, second = _queue(container, 2, contact_point_id=None)
    now = [0.0]
    dispatcher = _dispatcher(container, _gate(container),
                             limiter=RateLimiter(container.engine, scheduler_config(container), clock=lambda: now[0]))
    report = dispatcher.run_batch()
    assert report.outcomes == {"sent": 1, "rate_limited": 1}
    held = _row(container, second)
    assert held.status == "queued" and held.claimed_by is None and held.attempts == 0
    assert held.not_before == container.clock.now() + timedelta(seconds=10)


def test_a_sender_limit_waits_in_place_and_never_hands_rows_back(container: Container) -> None:
    # 1 message/s with no burst: every row after the first waits about a second, far beyond the inline limit over
    # the batch, yet none is handed back (a worker on a frozen --now clock would never see it come due again).
    _limited(container, ProviderLimits(per_sender_per_s=1, sender_burst=1))
    ids = _queue(container, 4, contact_point_id=None)
    wall = [1_800_000_000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        wall[0] += seconds

    limiter = RateLimiter(container.engine, scheduler_config(container), wall=lambda: wall[0])
    dispatcher = Dispatcher(container, "w1", gate=_gate(container), sleep=sleep, unit_random=lambda: 0.5,
                            limiter=limiter)
    report = dispatcher.run_batch()
    assert report.outcomes == {"sent": 4}
    assert sum(slept) == pytest.approx(3.0, abs=0.05)
    assert {_row(container, row_id).status for row_id in ids} == {"sent"}


def test_a_worker_claims_only_what_its_slowest_sender_can_send_within_claim_seconds(container: Container) -> None:
    unlimited = _dispatcher(container, _gate(container))
    assert unlimited.claim_size == scheduler_config(container).dispatch.claim_batch
    # A burst of 2, then one every 2 s: 2 + 0.5 x 10 s = 7 rows, not the 300 the configuration allows.
    _limited(container, ProviderLimits(per_sender_per_s=0.5, sender_burst=2))
    ids = _queue(container, 20, contact_point_id=None)
    wall = [1_800_000_000.0]

    def sleep(seconds: float) -> None:
        wall[0] += seconds

    limiter = RateLimiter(container.engine, scheduler_config(container), wall=lambda: wall[0])
    dispatcher = Dispatcher(container, "w1", gate=_gate(container), sleep=sleep, unit_random=lambda: 0.5,
                            limiter=limiter)
    assert dispatcher.claim_size == 7
    report = dispatcher.run_batch()
    assert report.claimed == 7 and report.outcomes == {"sent": 7}
    assert wall[0] - 1_800_000_000.0 == pytest.approx(10.0, abs=0.05)  # the batch was over within claim_seconds
    assert sorted(row_id for row_id in ids if _row(container, row_id).status == "queued") == sorted(ids)[7:]


def test_a_sender_limit_is_shared_by_every_dispatcher(container: Container) -> None:
    _limited(container, ProviderLimits(per_sender_per_s=5, sender_burst=5))
    config = scheduler_config(container)
    wall = [1_800_000_000.0]
    limiters = [RateLimiter(container.engine, config, wall=lambda: wall[0]) for _ in range(3)]
    granted = sum(1 for _ in range(10) for limiter in limiters if limiter.take("sandbox", "r") == 0.0)
    assert granted == 5  # three workers together get the burst, not three bursts
    wall[0] += 1.0
    granted = sum(1 for _ in range(10) for limiter in limiters if limiter.take("sandbox", "r") == 0.0)
    assert granted == 5  # and then the rate


# -- reconciliation ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("message_status", "provider_id", "expected"), [
    (None, None, "queued"),  # the gate recorded nothing: the channel was never called
    ("sent", "SBX-00000000-0000-0000-0000-000000000001", "sent"),
    ("sending", "SBX-5d1f6a52-7f38-4a4b-9d2e-0c7b3f1e2a90", "sent"),  # the sandbox answers lookups
    ("sending", None, "review"),  # the channel may or may not have been called: a person decides
])
def test_rows_left_in_sending_are_reconciled_never_blindly_resent(
    container: Container, clock: FixedClock, message_status: str | None, provider_id: str | None, expected: str
) -> None:
    (row_id,) = _queue(container, 1)
    (claimed,) = claim(container.engine, "dead-worker", 1, clock.now())
    if message_status is not None:
        with transaction(container.session_factory) as session:
            message = Message(cardholder_id=claimed.cardholder_id, account_id=claimed.account_id,
                              channel="sms", direction="outbound", status=message_status,
                              purpose="payment_thanks", author="scheduler", template_id="payment.thanks",
                              text="t", provider_message_id=provider_id, created_at=clock.now())
            session.add(message)
            session.flush()
            session.get_one(OutboxItem, row_id).message_id = message.id  # as the gate links it
    reconciler = Reconciler(container, scheduler_config(container))
    assert reconciler.reconcile_stale() == {}  # within the lease: the worker may still be on it
    clock.advance(timedelta(minutes=6))
    assert reconciler.reconcile_stale() == {expected: 1}
    assert _row(container, row_id).status == expected
    if message_status is not None:
        with container.session_factory() as session:
            message = session.scalars(select(Message)).one()
        assert message.status == expected and _row(container, row_id).message_id == message.id


def test_a_late_worker_does_not_overwrite_the_reconciled_row(container: Container, clock: FixedClock) -> None:
    (row_id,) = _queue(container, 1)
    claim(container.engine, "slow-worker", 1, clock.now())
    clock.advance(timedelta(minutes=6))
    Reconciler(container, scheduler_config(container)).reconcile_stale()
    assert _row(container, row_id).status == "queued"
    finished = Reconciler(container, scheduler_config(container)).finish(row_id, "slow-worker",
                                                                         _status("sent"), None)
    assert finished is False and _row(container, row_id).status == "queued"


def test_an_unlinked_message_since_the_claim_means_review_not_requeue(container: Container,
                                                                      clock: FixedClock) -> None:
    (row_id,) = _queue(container, 1)
    (claimed,) = claim(container.engine, "dead-worker", 1, clock.now())
    with transaction(container.session_factory) as session:
        session.add(Message(cardholder_id=claimed.cardholder_id, channel="sms", direction="outbound",
                            status="sending", purpose="payment_thanks", author="scheduler", text="t",
                            created_at=clock.now()))
    clock.advance(timedelta(minutes=6))
    assert Reconciler(container, scheduler_config(container)).reconcile_stale() == {"review": 1}


def test_finishing_a_batch_leaves_rows_taken_over_and_counts_each_reminder(container: Container,
                                                                           clock: FixedClock) -> None:
    from core.enums import OutboxStatus
    from scheduler.reconcile import Finish

    account_id = build(container, dpd=10, stage="dpd_1_29")
    mine, also_mine, lost, deferred = _queue(container, 4)
    with transaction(container.session_factory) as session:  # reminders of one account, two of them in the batch
        session.execute(update(OutboxItem).where(OutboxItem.id.in_([mine, also_mine, lost, deferred]))
                        .values(purpose="reminder", account_id=account_id))
    claim(container.engine, "w1", 4, clock.now())
    with transaction(container.session_factory) as session:  # the lease ran out and another worker took it
        session.execute(update(OutboxItem).where(OutboxItem.id == lost).values(claimed_by="w2"))
    until = clock.now() + timedelta(hours=2)
    clock.advance(timedelta(seconds=5))
    done = Reconciler(container, scheduler_config(container)).finish_many("w1", [
        Finish(mine, OutboxStatus.SENT, None, 1, None, touch=True),
        Finish(also_mine, OutboxStatus.SENT, None, 1, None, touch=True),
        Finish(lost, OutboxStatus.SENT, None, 1, None, touch=True),
        Finish(deferred, OutboxStatus.DEFERRED, "outside_contact_hours", 2, None, until)])
    assert done == 3
    assert (_row(container, mine).status, _row(container, mine).attempts) == ("sent", 1)
    assert (_row(container, lost).status, _row(container, lost).claimed_by) == ("sending", "w2")
    row = _row(container, deferred)
    assert (row.status, row.last_error, row.attempts, row.not_before) == ("deferred", "outside_contact_hours", 2,
                                                                          until)
    with container.session_factory() as session:
        account = session.get_one(Account, account_id)
    assert (account.touches_in_stage, account.last_reminder_at) == (2, clock.now())
    Reconciler(container, scheduler_config(container)).finish_many("w2", [
        Finish(lost, OutboxStatus.SENT, None, 1, None, touch=True)])
    with container.session_factory() as session:
        assert session.get_one(Account, account_id).touches_in_stage == 3


def _status(name: str):  # type: ignore[no-untyped-def]
    from core.enums import OutboxStatus

    return OutboxStatus(name)


__all__ = ["UTC"]
