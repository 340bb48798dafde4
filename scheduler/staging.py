"""Daily staging: apply new payments, recompute days past due and stage, and act on each stage change.

Runs hourly (each cardholder's local date turns over at their own midnight) and is idempotent: a second run on
the same day changes nothing. Days-past-due updates are written a batch at a time; a stage change, which has
side effects (history row, cancelled reminders, thank-you, escalation), gets a transaction of its own.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from accord.bootstrap import Container
from compliance import audit
from core.delinquency import Balances, apply_payment, assess, brought_current, entered_escalation
from core.send_window import local_date, zone
from scheduler.runtime import scheduler_config
from scheduler.stage_effects import StageEffects
from storage.db import transaction
from storage.tables import Account, Cardholder, Payment

log = logging.getLogger(__name__)

_A = cast(Table, Account.__table__)
_C = cast(Table, Cardholder.__table__)


@dataclass
class StagingReport:
    scanned: int = 0
    payments_applied: int = 0
    days_updated: int = 0
    stage_changes: Counter[str] = field(default_factory=Counter)  # "dpd_1_29->dpd_30_59": n
    brought_current: int = 0
    thanks_planned: int = 0
    escalations_opened: int = 0
    reminders_cancelled: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["stage_changes"] = dict(self.stage_changes)
        return data


def run_staging(container: Container, now: datetime | None = None) -> StagingReport:
    now = now or container.clock.now()
    effects = StageEffects(container, now)
    report = StagingReport()
    _apply_new_payments(container, effects, now, report)
    _restage_portfolio(container, effects, now, report)
    log.info("staging done", extra={"report": report.as_dict()})
    return report


def restage_account(session: Session, account: Account, effects: StageEffects, report: StagingReport) -> None:
    """Bring one (locked) account's days past due and stage up to date, with every side effect of a change."""
    tz = zone(account.cardholder.timezone)
    standing = assess(account.balance_minor, account.minimum_due_minor, account.due_date,
                      local_date(effects.now, tz), effects.rules)
    account.days_past_due = standing.days_past_due
    account.updated_at = effects.now
    old = account.stage
    if standing.stage != old:
        effects.record_change(session, account, old, standing.stage.value, standing.days_past_due)
        report.stage_changes[f"{old}->{standing.stage.value}"] += 1
        report.reminders_cancelled += effects.cancel_reminders(session, account.id, f"stage {old}->{standing.stage}")
        if brought_current(old, standing.stage):
            report.brought_current += 1
            if effects.thank(session, account):
                report.thanks_planned += 1
    if entered_escalation(standing.rule) and effects.open_final_escalation(session, account, standing.days_past_due):
        report.escalations_opened += 1


def _apply_new_payments(container: Container, effects: StageEffects, now: datetime, report: StagingReport) -> None:
    batch = scheduler_config(container).staging.batch_size
    after = 0
    while True:
        with container.engine.connect() as conn:
            account_ids = conn.scalars(
                select(Payment.account_id)
                .where(Payment.applied_at.is_(None), Payment.account_id > after)
                .group_by(Payment.account_id)
                .order_by(Payment.account_id)
                .limit(batch)
            ).all()
        if not account_ids:
            return
        for account_id in account_ids:
            try:
                with transaction(container.session_factory) as session:
                    report.payments_applied += _apply_account_payments(session, account_id, effects, report)
            except Exception:
                log.exception("staging: applying payments to account %s failed", account_id)
                report.failed += 1
        after = account_ids[-1]


def _apply_account_payments(session: Session, account_id: int, effects: StageEffects, report: StagingReport) -> int:
    account = session.get(Account, account_id, with_for_update=True)
    if account is None:
        return 0
    payments = session.scalars(
        select(Payment)
        .where(Payment.account_id == account_id, Payment.applied_at.is_(None))
        .order_by(Payment.id)
        .with_for_update()
    ).all()
    balances = Balances(account.balance_minor, account.minimum_due_minor)
    for payment in payments:
        balances = apply_payment(balances, payment.amount_minor)
        payment.applied_at = effects.now
    before = (account.balance_minor, account.minimum_due_minor)
    account.balance_minor, account.minimum_due_minor = balances.balance_minor, balances.minimum_due_minor
    audit.append(session, "scheduler", "account.payments_applied", "account", account.id, {
        "payments": [p.id for p in payments], "amount_minor": sum(p.amount_minor for p in payments),
        "balance_minor": [before[0], account.balance_minor], "minimum_due_minor": [before[1], account.minimum_due_minor],
    }, at=effects.now)
    restage_account(session, account, effects, report)
    return len(payments)


def _restage_portfolio(container: Container, effects: StageEffects, now: datetime, report: StagingReport) -> None:
    size = scheduler_config(container).staging.batch_size
    for batch in _account_batches(container, size):
        day_updates: list[dict[str, Any]] = []
        to_restage: list[int] = []
        for row in batch:
            report.scanned += 1
            try:
                standing = assess(row.balance_minor, row.minimum_due_minor, row.due_date,
                                  local_date(now, zone(row.timezone)), effects.rules)
            except Exception:
                log.exception("staging: assessing account %s failed", row.id)
                report.failed += 1
                continue
            if standing.stage.value != row.stage:
                to_restage.append(row.id)
            elif standing.days_past_due != row.days_past_due:
                day_updates.append({"b_id": row.id, "b_dpd": standing.days_past_due})
        _write_days(container, day_updates, now, report)
        to_restage.extend(_missing_escalations(container, effects, batch, set(to_restage)))
        for account_id in to_restage:
            try:
                with transaction(container.session_factory) as session:
                    account = session.get(Account, account_id, with_for_update=True)
                    if account is not None:
                        restage_account(session, account, effects, report)
            except Exception:
                log.exception("staging: restaging account %s failed", account_id)
                report.failed += 1


def _write_days(container: Container, updates: list[dict[str, Any]], now: datetime, report: StagingReport) -> None:
    if not updates:
        return
    stmt = (
        update(_A)
        .where(_A.c.id == bindparam("b_id"))
        .values(days_past_due=bindparam("b_dpd"), updated_at=now)
    )
    try:
        with container.engine.begin() as conn:
            conn.execute(stmt, updates)
        report.days_updated += len(updates)
    except Exception:
        log.exception("staging: updating days past due for %d accounts failed", len(updates))
        report.failed += len(updates)


def _missing_escalations(
    container: Container, effects: StageEffects, batch: Sequence[Any], already: set[int]
) -> list[int]:
    """Accounts sitting in an officer stage without their escalation yet (e.g. imported straight into 90+)."""
    escalating = {rule.stage.value for rule in effects.rules if rule.escalate_to_officer}
    candidates = [row for row in batch if row.stage in escalating and row.id not in already]
    if not candidates:
        return []
    with container.session_factory() as session:
        covered = effects.accounts_with_final_escalation(session, candidates)
    return [row.id for row in candidates if row.id not in covered]


def _account_batches(container: Container, size: int) -> Iterator[Sequence[Any]]:
    base = (
        select(_A.c.id, _A.c.stage, _A.c.days_past_due, _A.c.due_date, _A.c.balance_minor, _A.c.minimum_due_minor,
               _A.c.stage_changed_at, _C.c.timezone)
        .join(_C, _C.c.id == _A.c.cardholder_id)
        .order_by(_A.c.id)
        .limit(size)
    )
    after = 0
    while True:
        with container.engine.connect() as conn:
            batch = conn.execute(base.where(_A.c.id > after)).all()
        if not batch:
            return
        yield batch
        after = batch[-1].id
