"""Reminder cadence: whether an account is due a touch today, and the key that makes planning it idempotent.

A stage's band of days past due is cut into slots of `every_days` days, counted from the band's first day
(dpd_30_59 every 5 days: dpd 30-34 is slot 0, 35-39 slot 1, ...) or from the day the account entered the stage. Each slot holds at most one reminder, and the
slot's idempotency key makes that hold even when sweeps overlap, run twice or catch up after an outage.
Separately, at least `every_days` pass between two reminders actually sent in one stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from core.staging import StageRule


@dataclass(frozen=True, slots=True)
class TouchState:
    days_past_due: int
    touches_in_stage: int  # reminders sent since the account entered its stage
    last_reminder_on: date | None  # local date of the last reminder sent, in any stage
    last_reminder_at: datetime | None
    stage_changed_at: datetime | None
    stage_entered_on: date | None = None  # local date of stage_changed_at


def reminder_slot(rule: StageRule, dpd: int, entered_dpd: int | None = None) -> int | None:
    """The cadence slot `dpd` falls in, or None when the stage's touches are used up (or dpd is outside it).

    Slots count from the band's first day, or from the day the account entered the stage when that was later
    (an account imported at 200 days past due still gets its final-stage touches).
    """
    if not rule.covers(dpd):
        return None
    anchor = rule.min_dpd if entered_dpd is None else max(rule.min_dpd, min(entered_dpd, dpd))
    slot = (dpd - anchor) // rule.every_days
    if rule.max_touches is not None and slot >= rule.max_touches:
        return None
    return slot


def touch_due(rule: StageRule, state: TouchState, today: date, min_gap_after_stage_change: int) -> int | None:
    """The slot to plan a reminder for today, or None when no reminder is due."""
    entered_dpd = None
    if state.stage_entered_on is not None:
        entered_dpd = state.days_past_due - (today - state.stage_entered_on).days
    slot = reminder_slot(rule, state.days_past_due, entered_dpd)
    if slot is None:
        return None
    if rule.max_touches is not None and state.touches_in_stage >= rule.max_touches:
        return None
    if state.last_reminder_on is not None and state.last_reminder_at is not None:
        same_stage = state.stage_changed_at is None or state.last_reminder_at >= state.stage_changed_at
        # A new stage brings a new tone, which may follow the old one sooner than the old cadence allows.
        gap = rule.every_days if same_stage else min_gap_after_stage_change
        if (today - state.last_reminder_on).days < gap:
            return None
    return slot


def reminder_key(account_id: int, due_date: date, stage: str, slot: int) -> str:
    """One reminder per account, due date, stage and slot: a second sweep collides here and adds nothing."""
    return f"reminder:{account_id}:{due_date.isoformat()}:{stage}:{slot}"


def thanks_key(account_id: int, due_date: date) -> str:
    return f"thanks:{account_id}:{due_date.isoformat()}"
