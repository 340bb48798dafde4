"""The outbox dispatcher: claim due rows, respect provider rate limits, hand each to the compliance gate.

Any number of dispatchers may run, on any number of machines (`accord dispatch`), and the scheduler runs one as
a job. Each row is claimed by exactly one of them. The gate re-checks every row at send time (the cardholder
may have opted out since it was planned), records its decision with the message and calls the channel; the
dispatcher then moves the row to sent, deferred, blocked, failed, or back to the queue for a retry.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from accord.bootstrap import Container
from compliance.contract import DeliveryOutcome, SendRequest
from core.enums import Channel, MessagePurpose, OutboxStatus
from scheduler.claim import DISPATCHER_AUTHOR, ClaimedRow, claim, release, wake_deferred
from scheduler.config import SchedulerConfig
from scheduler.protection_filter import blocked_rows
from scheduler.rate_limits import RateLimiter, claim_size
from scheduler.reconcile import Finish, Reconciler
from scheduler.runtime import scheduler_config
from scheduler.staleness import stale_rows

log = logging.getLogger(__name__)

# A rate-limit wait longer than this hands the row back to the queue instead of holding it (and the worker).
MAX_INLINE_WAIT_S = 2.0
DEFAULT_DEFER_S = 900


@dataclass
class DispatchReport:
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)

    def merge(self, other: DispatchReport) -> None:
        self.claimed += other.claimed
        self.outcomes.update(other.outcomes)

    def as_dict(self) -> dict[str, Any]:
        return {"claimed": self.claimed, **dict(self.outcomes)}


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Dispatcher:
    def __init__(
        self,
        container: Container,
        worker_id: str | None = None,
        *,
        gate: Any = None,
        config: SchedulerConfig | None = None,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        unit_random: Callable[[], float] = random.random,
    ) -> None:
        self.container = container
        self.worker_id = worker_id or container.settings.accord_worker_id or default_worker_id()
        self.gate = gate if gate is not None else _wired_gate(container)
        self.config = config or scheduler_config(container)
        self.limiter = limiter or RateLimiter(container.engine, self.config)
        self.reconciler = Reconciler(container, self.config)
        self.claim_size = claim_size(self.config, (self._provider(channel.value)
                                                   for channel in container.extras.get("channels", {})))
        self._sleep, self._random = sleep, unit_random
        self._last_wake: datetime | None = None
        self._last_reconcile: datetime | None = None

    # -- loops -------------------------------------------------------------------------------------------------

    def drain(self, max_seconds: float | None = None, stop: threading.Event | None = None) -> DispatchReport:
        """Dispatch batches until nothing is due (the scheduler job, `--once`, `accord simulate`)."""
        started = time.monotonic()
        total = DispatchReport()
        while stop is None or not stop.is_set():
            batch = self.run_batch()
            total.merge(batch)
            if batch.claimed == 0 or (max_seconds is not None and time.monotonic() - started > max_seconds):
                break
        return total

    def run_forever(self, stop: threading.Event) -> DispatchReport:
        """The standalone worker loop: keep draining; sleep when idle; return when `stop` is set."""
        total = DispatchReport()
        while not stop.is_set():
            batch = self.run_batch()
            total.merge(batch)
            if batch.claimed == 0:
                stop.wait(self.config.dispatch.idle_sleep_s)
        return total

    def run_batch(self) -> DispatchReport:
        now = self.container.clock.now()
        self._wake(now)
        if _due(self._last_reconcile, now, self.config.dispatch.reconcile_every_s):
            # Every worker settles rows a dead worker left behind, so no single process is needed for it.
            self.reconciler.reconcile_stale(now)
            self._last_reconcile = now
        rows = claim(self.container.engine, self.worker_id, self.claim_size, now)
        report = DispatchReport(claimed=len(rows))
        if not rows:
            return report
        stale = stale_rows(self.container, rows)
        stale.update(blocked_rows(self.container, rows, now))
        batch = _Batch(self, report)
        for row in rows:
            try:
                if row.id in stale:
                    batch.finishes.append(Finish(row.id, OutboxStatus.CANCELLED, stale[row.id], row.attempts, None))
                    report.outcomes["cancelled"] += 1
                    continue
                if self._take_tokens(row, before_wait=batch.flush):
                    batch.rows.append(row)
                else:
                    report.outcomes["rate_limited"] += 1
            except Exception:  # one row's trouble never stops the batch; the reconciler sees the row later
                log.exception("dispatch: outbox row %s failed", row.id)
                report.outcomes["error"] += 1
        batch.flush()
        return report

    # -- rows through the gate ---------------------------------------------------------------------------------

    def _take_tokens(self, row: ClaimedRow, before_wait: Callable[[], None]) -> bool:
        """Wait for the recipient's rate limit (Telegram: one message a second per chat). False: the row was
        handed back for later (its recipient must wait long); other rows in the batch go on meanwhile.
        `before_wait` hands what is already cleared to the gate first, so it does not wait with this row."""
        provider = self._provider(row.channel)
        recipient = str(row.contact_point_id) if row.contact_point_id else f"{row.cardholder_id}:{row.channel}"
        wait = self.limiter.recipient_wait(provider, recipient)
        if wait > MAX_INLINE_WAIT_S:
            now = self.container.clock.now()
            release(self.container.engine, row.id, self.worker_id, now + timedelta(seconds=wait), now)
            return False
        if wait > 0:
            before_wait()
            self._sleep(wait)
        self.limiter.take_recipient(provider, recipient)
        return True

    def _pace(self, channel: Channel, wanted: int) -> int:
        """The sender's limit, asked by the gate just before it calls the provider: how many of `wanted` may go
        now, waiting for at least one. Every row of this sender waits alike, so waiting here holds back nothing
        that could go instead."""
        provider = self._provider(channel.value)
        while True:
            granted = 0
            while granted < wanted and (wait := self.limiter.take_sender(provider)) == 0:
                granted += 1
            if granted:
                return granted
            self._sleep(wait)

    def _deliver(self, rows: list[ClaimedRow], report: DispatchReport) -> list[Finish]:
        requests = [_request(row) for row in rows]
        try:
            outcomes: list[DeliveryOutcome | Exception] = list(self.gate.deliver_many(requests, pace=self._pace))
        except Exception as exc:  # the whole batch failed to be decided (e.g. the database went away)
            log.exception("dispatch: the gate raised on a batch of %d rows", len(rows))
            outcomes = [exc] * len(rows)
        finishes = []
        for row, outcome in zip(rows, outcomes, strict=True):
            attempts = row.attempts + 1
            if isinstance(outcome, Exception):
                log.error("dispatch: the gate could not decide outbox row %s: %s", row.id, outcome)
                report.outcomes[self.reconciler.after_gate_error(
                    row.id, self.worker_id, attempts, self._retry_at(attempts, None))] += 1
                continue
            label, finish = self._finish_for(row, outcome, attempts)
            report.outcomes[label] += 1
            finishes.append(finish)
        return finishes

    def _finish_for(self, row: ClaimedRow, outcome: DeliveryOutcome, attempts: int) -> tuple[str, Finish]:
        now = self.container.clock.now()
        status, message_id = outcome.status, outcome.message_id
        if status == "sent":
            return "sent", Finish(row.id, OutboxStatus.SENT, None, attempts, message_id, touch=True)
        if status == "deferred":
            until = outcome.decision.defer_until or now + timedelta(seconds=DEFAULT_DEFER_S)
            return "deferred", Finish(row.id, OutboxStatus.DEFERRED, _reasons(outcome), attempts, message_id, until)
        if status == "blocked":
            return "blocked", Finish(row.id, OutboxStatus.BLOCKED, _reasons(outcome), attempts, message_id)
        if status == "failed" and outcome.retryable and attempts < self.config.dispatch.max_attempts:
            retry_at = self._retry_at(attempts, _retry_after(outcome))
            return "retry", Finish(row.id, OutboxStatus.QUEUED, outcome.error, attempts, message_id, retry_at)
        if status == "failed":
            return "failed", Finish(row.id, OutboxStatus.FAILED, outcome.error, attempts, message_id)
        # "review", or anything the contract does not name: a person looks, nothing is resent
        return "review", Finish(row.id, OutboxStatus.REVIEW, outcome.error or status, attempts, message_id)

    def _retry_at(self, attempts: int, retry_after_s: float | None) -> datetime:
        delay = self.config.dispatch.backoff.policy().delay(attempts, self._random(), retry_after_s)
        return self.container.clock.now() + timedelta(seconds=delay)

    def _provider(self, channel: str) -> str:
        adapter = self.container.extras.get("channels", {}).get(Channel(channel))
        return getattr(adapter, "name", "sandbox")

    def _wake(self, now: datetime) -> None:
        if _due(self._last_wake, now, self.config.dispatch.wake_deferred_every_s):
            wake_deferred(self.container.engine, now)
            self._last_wake = now


class _Batch:
    """Rows cleared to go, sent to the gate together; their outbox rows are then finished together."""

    def __init__(self, dispatcher: Dispatcher, report: DispatchReport) -> None:
        self.dispatcher, self.report = dispatcher, report
        self.rows: list[ClaimedRow] = []
        self.finishes: list[Finish] = []

    def flush(self) -> None:
        rows, self.rows = self.rows, []
        finishes = self.dispatcher._deliver(rows, self.report) if rows else []
        finishes, self.finishes = [*self.finishes, *finishes], []
        self.dispatcher.reconciler.finish_many(self.dispatcher.worker_id, finishes)


def _due(last: datetime | None, now: datetime, every_s: float) -> bool:
    """Measured on the injected clock, so a simulated day wakes and reconciles as a real one would."""
    return last is None or now < last or (now - last).total_seconds() >= every_s


def _request(row: ClaimedRow) -> SendRequest:
    return SendRequest(
        cardholder_id=row.cardholder_id,
        channel=Channel(row.channel),
        purpose=MessagePurpose(row.purpose),
        template_id=row.template_id,
        author=DISPATCHER_AUTHOR,
        params=dict(row.params or {}),
        account_id=row.account_id,
        conversation_id=row.conversation_id,
        contact_point_id=row.contact_point_id,
        language=row.language,
        outbox_id=row.id,
    )


def _reasons(outcome: DeliveryOutcome) -> str:
    return ",".join(outcome.decision.reasons) or (outcome.error or "")


def _retry_after(outcome: DeliveryOutcome) -> float | None:
    value = getattr(outcome, "retry_after_s", None)
    return float(value) if value is not None else None


def _wired_gate(container: Container) -> Any:
    gate = container.extras.get("gate")
    if gate is None:
        raise RuntimeError("no compliance gate is wired: the bootstrap must put one in container.extras['gate']")
    return gate
