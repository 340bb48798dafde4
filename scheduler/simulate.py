"""Replay the reminder engine over a period with a simulated clock: `accord simulate`.

Not a second code path: at each step the clock is set and the real services run in the scheduler's order and on
its timetable (staging, follow-ups and sweep when their configured times fall in the step; dispatch through the
real compliance gate and reconciliation at every step). The only addition is
a recorder around the gate that tallies each request and its outcome for the summary. Channels are always the
sandbox: a simulation never reaches a provider. With `inbound` (scheduler/sim_replay.py), cardholders' messages
due in a step go through the real inbound pipeline, each at its own time, before that step's jobs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from accord.bootstrap import Container
from compliance.contract import DeliveryOutcome, SendRequest
from core.clock import FixedClock
from scheduler.dispatcher import Dispatcher
from scheduler.followups import run_followups
from scheduler.jobs import trigger_for
from scheduler.reconcile import Reconciler
from scheduler.runtime import scheduler_config
from scheduler.staging import run_staging
from scheduler.sweep import run_sweep

_STEP = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_MAX_STEPS = 100_000


def parse_step(text: str) -> timedelta:
    match = _STEP.match(text.strip().lower())
    if not match or int(match[1]) == 0:
        raise ValueError(f"step {text!r} is not a duration like 30m, 1h, 6h or 1d")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


@dataclass
class Tally:
    """Counts by outcome and by what a compliance reviewer slices on. Constant size whatever the portfolio."""

    outcomes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[tuple[str, str]] = field(default_factory=Counter)  # (reason, deferred|blocked)
    by_stage: Counter[tuple[str, str]] = field(default_factory=Counter)  # (stage or purpose, outcome)
    by_local_hour: Counter[tuple[str, str]] = field(default_factory=Counter)  # ("08", outcome)
    by_language: Counter[tuple[str, str]] = field(default_factory=Counter)
    by_template: Counter[tuple[str, str]] = field(default_factory=Counter)
    staging: Counter[str] = field(default_factory=Counter)  # stage changes, escalations, thanks ...
    planned: int = 0
    steps: int = 0

    def record(self, request: SendRequest, outcome: DeliveryOutcome) -> None:
        status = outcome.status
        self.outcomes[status] += 1
        if status in ("deferred", "blocked"):
            for reason in outcome.decision.reasons or ("unspecified",):
                self.reasons[(reason, status)] += 1
        stage = str(request.params.get("stage") or request.purpose.value)
        self.by_stage[(stage, status)] += 1
        self.by_local_hour[(_local_hour(outcome.decision.local_time), status)] += 1
        self.by_language[(request.language or "?", status)] += 1
        self.by_template[(request.template_id, status)] += 1

    def as_dict(self) -> dict[str, Any]:
        def nest(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = {}
            for (key, status), count in sorted(counter.items()):
                out.setdefault(key, {})[status] = count
            return out

        return {
            "steps": self.steps, "planned": self.planned, "outcomes": dict(self.outcomes),
            "reasons": nest(self.reasons), "by_stage": nest(self.by_stage),
            "by_local_hour": nest(self.by_local_hour), "by_language": nest(self.by_language),
            "by_template": nest(self.by_template), "staging": dict(self.staging),
        }


class RecordingGate:
    """Delegates every call to the real gate; only remembers what it answered."""

    def __init__(self, gate: Any, tally: Tally) -> None:
        self.gate, self.tally = gate, tally

    def deliver_many(self, requests: list[SendRequest], pace: Any = None) -> list[DeliveryOutcome | Exception]:
        outcomes: list[DeliveryOutcome | Exception] = self.gate.deliver_many(requests, pace)
        for request, outcome in zip(requests, outcomes, strict=True):
            if not isinstance(outcome, Exception):
                self.tally.record(request, outcome)
        return outcomes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gate, name)


def simulate(container: Container, start: datetime, end: datetime, step: timedelta,
             progress: Any = None, inbound: Any = None) -> Tally:
    """Run every step from `start` to `end` inclusive. `container.clock` must be the FixedClock to move.
    `inbound`: an InboundReplay whose messages are fed in at their times (those after the last step at the end)."""
    clock = container.clock
    if not isinstance(clock, FixedClock):
        raise TypeError("a simulation needs the container built with a FixedClock")
    if end < start:
        raise ValueError(f"--to {end.isoformat()} is before --from {start.isoformat()}")
    if (end - start) / step > _MAX_STEPS:
        raise ValueError(f"{(end - start) / step:.0f} steps; use a longer --step (at most {_MAX_STEPS} steps)")
    tally = Tally()
    config = scheduler_config(container)
    dispatcher = Dispatcher(container, "simulate", gate=RecordingGate(container.extras["gate"], tally))
    reconciler = Reconciler(container, config)
    timetable = {name: trigger_for(getattr(config.jobs, name)) for name in ("staging", "followups", "sweep")}
    previous: datetime | None = None
    at = start
    while at <= end:
        if inbound is not None:  # the messages of (previous, at], each at its own time, before this step's jobs
            inbound.feed(clock, at)
        clock.set(at)
        # The scheduler's own timetable: a job runs at a step when one of its fire times fell since the last
        # step (all of them at the first step, as a scheduler starting up would catch up).
        due = {name for name, trigger in timetable.items() if _fires(trigger, previous, at)}
        if "staging" in due:
            _count_staging(tally, run_staging(container))
        if "followups" in due:
            tally.staging.update({k: v for k, v in run_followups(container).as_dict().items() if v})
        if "sweep" in due:
            tally.planned += run_sweep(container).planned
        dispatcher.drain()
        reconciler.reconcile_stale()
        tally.steps += 1
        if progress is not None:
            progress(at, tally)
        previous, at = at, at + step
    if inbound is not None:
        inbound.feed(clock, end)  # messages after the last step that still fall inside the period
    return tally


def _fires(trigger: Any, previous: datetime | None, at: datetime) -> bool:
    if previous is None:
        return True
    upcoming = trigger.get_next_fire_time(None, previous + timedelta(microseconds=1))
    return upcoming is not None and upcoming <= at


def _count_staging(tally: Tally, staged: Any) -> None:
    tally.staging.update({f"stage {k}": v for k, v in staged.stage_changes.items()})
    tally.staging.update({"escalations_opened": staged.escalations_opened, "thanks_planned": staged.thanks_planned,
                          "brought_current": staged.brought_current})


def _local_hour(local_time: str | None) -> str:
    if not local_time:
        return "unknown"
    try:
        return f"{datetime.fromisoformat(local_time).hour:02d}"
    except ValueError:
        return "unknown"
