"""Follow-ups on promises to pay and installment plans.

Each open promise and each plan in force is handled in its own transaction: a follow-up the day before the
promised date, kept or broken once the money arrives or date + grace passes, installment reminders before each
due date, missed installments and broken plans. Every message is keyed, so running the job twice sends nothing
twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.bootstrap import Container
from accord.policy_packs import policy_packs
from compliance import audit
from compliance.packs import PackRegistry
from core.enums import (
    EscalationReason,
    EscalationStatus,
    InstallmentStatus,
    MessagePurpose,
    PlanStatus,
    PromiseStatus,
)
from core.followups import (
    InstallmentChange,
    InstallmentView,
    installment_changes,
    installment_key,
    installment_reminder_due,
    plan_broken,
    promise_follow_up_due,
    promise_key,
    promise_outcome,
)
from core.send_window import local_date, zone
from scheduler.config import SchedulerConfig
from scheduler.planning import plan_account_message
from scheduler.runtime import scheduler_config
from scheduler.templates import INSTALLMENT_MISSED, INSTALLMENT_REMINDER, PROMISE_BROKEN, PROMISE_FOLLOW_UP
from storage.db import transaction
from storage.tables import Account, Escalation, Installment, InstallmentPlan, Payment, Promise

log = logging.getLogger(__name__)

_BATCH = 1000
# Pause reasons a promise or a plan sets (the dialogue writes "installment_plan"); others, e.g. dispute, stay.
_PROMISE_PAUSES = ("promise",)
_PLAN_PAUSES = ("installment_plan", "plan")


@dataclass
class FollowUpReport:
    promise_reminders: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    installment_reminders: int = 0
    installments_paid: int = 0
    installments_missed: int = 0
    plans_completed: int = 0
    plans_broken: int = 0
    escalations_opened: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def run_followups(container: Container, now: datetime | None = None) -> FollowUpReport:
    now = now or container.clock.now()
    config = scheduler_config(container)
    packs = policy_packs(container)
    report = FollowUpReport()
    for promise_id in _ids(container, select(Promise.id).where(Promise.status == PromiseStatus.OPEN.value)):
        _each(container, f"promise {promise_id}", report,
              lambda s, pid=promise_id: _follow_promise(s, pid, now, config, packs, report))
    in_force = select(InstallmentPlan.id).where(InstallmentPlan.status == PlanStatus.ACTIVE.value)
    for plan_id in _ids(container, in_force):
        _each(container, f"plan {plan_id}", report, lambda s, pid=plan_id: _follow_plan(s, pid, now, config, packs, report))
    log.info("follow-ups done", extra={"report": report.as_dict()})
    return report


def _follow_promise(session: Session, promise_id: int, now: datetime, config: SchedulerConfig, packs: PackRegistry,
                    report: FollowUpReport) -> None:
    promise = session.get(Promise, promise_id, with_for_update=True)
    if promise is None or promise.status != PromiseStatus.OPEN.value:
        return
    account = session.get_one(Account, promise.account_id)
    tz = zone(account.cardholder.timezone)
    today = local_date(now, tz)
    policy = config.followups
    paid = _paid_since(session, account.id, local_date(promise.created_at, tz))
    outcome = promise_outcome(promise.amount_minor, paid, promise.promised_date, today, policy.promise_grace_days)
    params = {"amount_minor": promise.amount_minor, "promised_date": promise.promised_date.isoformat(),
              "promise_id": promise.id}
    if outcome is not None:
        promise.status, promise.resolved_at = outcome.value, now
        _audit(session, f"promise.{outcome.value}", "promise", promise.id,
               {"account_id": account.id, "amount_minor": promise.amount_minor, "paid_since_minor": paid,
                "promised_date": promise.promised_date}, now)
    if outcome is PromiseStatus.KEPT:
        _resume_reminders(session, account, _PROMISE_PAUSES, now)
        report.promises_kept += 1
    elif outcome is PromiseStatus.BROKEN:
        report.promises_broken += 1
        plan_account_message(session, account, purpose=MessagePurpose.PROMISE_FOLLOW_UP, template_id=PROMISE_BROKEN,
                             key=promise_key(promise.id, "broken"), params=params, now=now, config=config, packs=packs)
        _resume_reminders(session, account, _PROMISE_PAUSES, now)
        if policy.broken_promise_next_step == "escalate":
            report.escalations_opened += _escalate(session, account, EscalationReason.BROKEN_PROMISE,
                                                   {"promise_id": promise.id}, now, config)
    elif promise_follow_up_due(promise.promised_date, today, policy.promise_reminder_days_before):
        if plan_account_message(session, account, purpose=MessagePurpose.PROMISE_FOLLOW_UP,
                                template_id=PROMISE_FOLLOW_UP, key=promise_key(promise.id, "follow_up"),
                                params=params, now=now, config=config, packs=packs):
            report.promise_reminders += 1


def _follow_plan(session: Session, plan_id: int, now: datetime, config: SchedulerConfig, packs: PackRegistry,
                 report: FollowUpReport) -> None:
    plan = session.get(InstallmentPlan, plan_id, with_for_update=True)
    if plan is None or plan.status != PlanStatus.ACTIVE.value:
        return
    account = session.get_one(Account, plan.account_id)
    tz = zone(account.cardholder.timezone)
    today = local_date(now, tz)
    policy = config.followups
    items = session.scalars(select(Installment).where(Installment.plan_id == plan.id).order_by(Installment.seq)).all()
    paid = _paid_since(session, account.id, local_date(plan.accepted_at or plan.created_at, tz))
    views = [InstallmentView(i.id, i.seq, i.due_date, i.amount_minor, i.status) for i in items]
    changes = installment_changes(views, paid, today, policy.installment_grace_days)
    for item in items:
        change = changes.get(item.id)
        if change is InstallmentChange.PAID:
            item.status, item.paid_at = InstallmentStatus.PAID.value, now
            report.installments_paid += 1
        elif change is InstallmentChange.MISSED:
            item.status = InstallmentStatus.MISSED.value
            report.installments_missed += 1
            _audit(session, "installment.missed", "installment", item.id,
                   {"plan_id": plan.id, "seq": item.seq, "due_date": item.due_date, "amount_minor": item.amount_minor},
                   now)
            plan_account_message(session, account, purpose=MessagePurpose.INSTALLMENT_REMINDER,
                                 template_id=INSTALLMENT_MISSED, key=installment_key(item.id, "missed"),
                                 params=_installment_params(item), now=now, config=config, packs=packs)
        elif item.status == InstallmentStatus.SCHEDULED.value and installment_reminder_due(
            item.due_date, today, policy.installment_reminder_days_before
        ):
            if plan_account_message(session, account, purpose=MessagePurpose.INSTALLMENT_REMINDER,
                                    template_id=INSTALLMENT_REMINDER, key=installment_key(item.id, "reminder"),
                                    params=_installment_params(item), now=now, config=config, packs=packs):
                report.installment_reminders += 1
    missed = sum(1 for i in items if i.status == InstallmentStatus.MISSED.value)
    if plan_broken(missed, policy.plan_breaks_after_missed):
        plan.status = PlanStatus.BROKEN.value
        report.plans_broken += 1
        _audit(session, "plan.broken", "plan", plan.id, {"account_id": account.id, "missed": missed}, now)
        _resume_reminders(session, account, _PLAN_PAUSES, now)
        report.escalations_opened += _escalate(session, account, EscalationReason.BROKEN_PLAN,
                                               {"plan_id": plan.id, "missed": missed}, now, config)
    elif items and all(i.status == InstallmentStatus.PAID.value for i in items):
        plan.status = PlanStatus.COMPLETED.value
        report.plans_completed += 1
        _audit(session, "plan.completed", "plan", plan.id, {"account_id": account.id}, now)
        _resume_reminders(session, account, _PLAN_PAUSES, now)


def _installment_params(item: Installment) -> dict[str, Any]:
    return {"amount_minor": item.amount_minor, "due_date": item.due_date.isoformat(), "installment": item.seq,
            "installment_id": item.id}


def _paid_since(session: Session, account_id: int, since: date) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
            Payment.account_id == account_id, Payment.paid_on >= since
        )
    )
    return int(total or 0)


def _resume_reminders(session: Session, account: Account, pauses: tuple[str, ...], now: datetime) -> None:
    """Clear a pause that this promise or plan caused; a pause for any other reason (dispute...) stays."""
    reason = account.reminders_paused_reason
    if reason is not None and reason.startswith(pauses):
        account.reminders_paused_reason = None
        _audit(session, "account.reminders_resumed", "account", account.id, {"was_paused_for": reason}, now)


def _escalate(session: Session, account: Account, reason: EscalationReason, detail: dict[str, Any],
              now: datetime, config: SchedulerConfig) -> int:
    escalation = Escalation(
        cardholder_id=account.cardholder_id, account_id=account.id, reason=reason.value,
        priority=config.followups.escalation_priority, status=EscalationStatus.OPEN.value, detail=detail,
        created_at=now,
    )
    session.add(escalation)
    session.flush()
    _audit(session, "escalation.opened", "escalation", escalation.id,
           {"reason": reason.value, "account_id": account.id, **detail}, now)
    return 1


def _audit(session: Session, kind: str, subject_type: str, subject_id: int, payload: dict[str, Any],
           now: datetime) -> None:
    audit.append(session, "scheduler", kind, subject_type, subject_id, payload, at=now)


def _each(container: Container, what: str, report: FollowUpReport, work: Any) -> None:
    try:
        with transaction(container.session_factory) as session:
            work(session)
    except Exception:  # one bad promise or plan never stops the others
        log.exception("follow-ups: %s failed", what)
        report.failed += 1


def _ids(container: Container, query: Any) -> Iterator[int]:
    """Ids from `query` in ascending batches, so the set is never held in memory at once."""
    id_column = query.selected_columns[0]
    after = 0
    while True:
        with container.engine.connect() as conn:
            ids = conn.scalars(query.where(id_column > after).order_by(id_column).limit(_BATCH)).all()
        if not ids:
            return
        yield from ids
        after = ids[-1]
