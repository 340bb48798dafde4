"""Follow-ups on what a cardholder agreed: promises to pay and installment plans.

Pure rules on dates and amounts; the scheduler applies them to the rows that are due.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from core.enums import InstallmentStatus, PromiseStatus


def within_days_before(target: date, today: date, days_before: int) -> bool:
    """True from `days_before` days ahead of `target` up to `target` itself (a late sweep still reminds)."""
    return target - timedelta(days=days_before) <= today <= target


def promise_follow_up_due(promised_date: date, today: date, days_before: int) -> bool:
    return within_days_before(promised_date, today, days_before)


def promise_outcome(
    amount_minor: int, paid_since_promise_minor: int, promised_date: date, today: date, grace_days: int
) -> PromiseStatus | None:
    """KEPT as soon as the promised amount has arrived; BROKEN once date + grace has passed without it."""
    if paid_since_promise_minor >= amount_minor:
        return PromiseStatus.KEPT
    if today > promised_date + timedelta(days=grace_days):
        return PromiseStatus.BROKEN
    return None


@dataclass(frozen=True, slots=True)
class InstallmentView:
    id: int
    seq: int
    due_date: date
    amount_minor: int
    status: str


class InstallmentChange(StrEnum):
    PAID = "paid"
    MISSED = "missed"


def installment_changes(
    installments: Sequence[InstallmentView], paid_since_acceptance_minor: int, today: date, grace_days: int
) -> dict[int, InstallmentChange]:
    """Which scheduled installments are now paid or missed.

    Payments since the plan was accepted pay installments in order: an installment is paid once the running
    total covers it and every one before it. An unpaid one whose due date + grace has passed is missed.
    """
    changes: dict[int, InstallmentChange] = {}
    cumulative = 0
    for item in sorted(installments, key=lambda i: i.seq):
        cumulative += item.amount_minor
        if item.status != InstallmentStatus.SCHEDULED:
            continue
        if paid_since_acceptance_minor >= cumulative:
            changes[item.id] = InstallmentChange.PAID
        elif today > item.due_date + timedelta(days=grace_days):
            changes[item.id] = InstallmentChange.MISSED
    return changes


def installment_reminder_due(due_date: date, today: date, days_before: int) -> bool:
    return within_days_before(due_date, today, days_before)


def plan_broken(missed_count: int, breaks_after: int) -> bool:
    return missed_count >= breaks_after


def promise_key(promise_id: int, kind: str) -> str:
    return f"promise:{promise_id}:{kind}"


def installment_key(installment_id: int, kind: str) -> str:
    return f"installment:{installment_id}:{kind}"
