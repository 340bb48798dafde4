"""Delinquency staging: days past due and the stage that follows from them.

The stage bands themselves come from `config/stages.yaml`; this module only applies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.enums import Channel, Stage, Tone


@dataclass(frozen=True, slots=True)
class StageRule:
    stage: Stage
    tone: Tone
    # Inclusive band of days past due. Negative numbers are days *before* the due date (pre-due window).
    min_dpd: int
    max_dpd: int | None
    every_days: int  # cadence: at most one reminder touch per this many days
    max_touches: int | None  # per stage episode; None = unlimited
    channels: tuple[Channel, ...]
    escalate_to_officer: bool = False

    def covers(self, dpd: int) -> bool:
        return dpd >= self.min_dpd and (self.max_dpd is None or dpd <= self.max_dpd)


def days_past_due(due_date: date, today: date, minimum_due_minor: int) -> int:
    """Days since the due date while a minimum payment is outstanding; negative before the due date.

    Once the minimum due is covered the account is not past due, whatever the calendar says.
    """
    if minimum_due_minor <= 0:
        return min(0, (today - due_date).days)
    return (today - due_date).days


def stage_for(dpd: int, balance_minor: int, rules: tuple[StageRule, ...]) -> StageRule | None:
    """The rule whose band holds `dpd`, or None when the account is current (no reminders due)."""
    if balance_minor <= 0:
        return None
    for rule in rules:
        if rule.covers(dpd):
            return rule
    return None


def stage_name(dpd: int, balance_minor: int, rules: tuple[StageRule, ...]) -> Stage:
    if balance_minor <= 0:
        return Stage.SETTLED
    rule = stage_for(dpd, balance_minor, rules)
    return rule.stage if rule else Stage.CURRENT


def account_standing(
    due_date: date, today: date, balance_minor: int, minimum_due_minor: int, rules: tuple[StageRule, ...]
) -> tuple[int, Stage]:
    """Days past due and stage of an account on `today` (the cardholder's local date).

    An account with a balance but nothing due now (minimum covered) is current: neither past due nor in the
    pre-due window, whatever the calendar says about the old due date.
    """
    dpd = days_past_due(due_date, today, minimum_due_minor)
    if balance_minor > 0 and minimum_due_minor <= 0:
        return dpd, Stage.CURRENT
    return dpd, stage_name(dpd, balance_minor, rules)
