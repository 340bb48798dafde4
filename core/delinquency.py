"""Where an account stands today: payments applied, days past due and the stage that follows.

`core.staging` holds the stage bands; this module adds what the daily staging needs around them: a paid
minimum ends delinquency whatever the calendar says, and a stage change resets the reminder cadence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.enums import Stage
from core.staging import StageRule, days_past_due, stage_for

REMINDER_STAGES = frozenset({Stage.PRE_DUE, Stage.DPD_1_29, Stage.DPD_30_59, Stage.DPD_60_89, Stage.DPD_90_PLUS})
NO_REMINDER_STAGES = frozenset({Stage.CURRENT, Stage.SETTLED})


@dataclass(frozen=True, slots=True)
class Assessment:
    days_past_due: int
    stage: Stage
    rule: StageRule | None  # None: no reminders in this stage


def assess(
    balance_minor: int, minimum_due_minor: int, due_date: date, today: date, rules: tuple[StageRule, ...]
) -> Assessment:
    """The same standing as `core.staging.account_standing`, plus the stage's rule (one band lookup, since the
    sweep calls this for every account of the portfolio)."""
    if balance_minor <= 0:
        return Assessment(0, Stage.SETTLED, None)
    dpd = days_past_due(due_date, today, minimum_due_minor)
    if minimum_due_minor <= 0:
        # The minimum is covered: not delinquent and nothing to remind of, even inside the pre-due window.
        return Assessment(dpd, Stage.CURRENT, None)
    rule = stage_for(dpd, balance_minor, rules)
    return Assessment(dpd, rule.stage if rule else Stage.CURRENT, rule)


@dataclass(frozen=True, slots=True)
class Balances:
    balance_minor: int
    minimum_due_minor: int


def apply_payment(before: Balances, amount_minor: int) -> Balances:
    """A payment reduces the balance and the minimum due, neither below zero. Refunds are not payments."""
    if amount_minor <= 0:
        raise ValueError(f"a payment must be positive, got {amount_minor} minor units")
    return Balances(
        balance_minor=max(0, before.balance_minor - amount_minor),
        minimum_due_minor=max(0, before.minimum_due_minor - amount_minor),
    )


def brought_current(before: Stage | str, after: Stage | str) -> bool:
    """True when an account that was being reminded no longer needs reminding (paid up or paid off)."""
    return Stage(before) in REMINDER_STAGES and Stage(after) in NO_REMINDER_STAGES


def entered_escalation(rule: StageRule | None) -> bool:
    return rule is not None and rule.escalate_to_officer
