"""The reminder sweep: plan one outbox row for every account due a touch under its stage's cadence.

The portfolio is streamed in keyset-paginated batches (constant memory whatever its size). For each account the
pure core decides whether a touch is due, which contact point, which template and when; each batch's rows are
inserted with ON CONFLICT DO NOTHING on their idempotency key, so a second sweep for the same day adds nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, select

from accord.bootstrap import Container
from core.cadence import TouchState, reminder_key, touch_due
from core.contact_choice import ContactOption, choose_contact
from core.delinquency import REMINDER_STAGES, assess
from core.enums import MessagePurpose, PlanStatus, PromiseStatus
from core.send_window import earliest_send, local_date, zone
from core.staging import StageRule
from scheduler.config import SweepPolicy
from scheduler.contacts import contact_options
from scheduler.outbox import OUTBOX, PENDING, insert_isolated, outbox_row
from scheduler.runtime import scheduler_config
from scheduler.templates import reminder_template
from storage.tables import Account, Cardholder, InstallmentPlan, Promise

log = logging.getLogger(__name__)

_A = Account.__table__
_C = Cardholder.__table__
# Reminders wait while the cardholder has agreed something: an open promise or a plan in force.
_PLAN_PAUSES = (PlanStatus.ACTIVE.value, PlanStatus.PENDING_APPROVAL.value)


@dataclass
class SweepReport:
    scanned: int = 0
    planned: int = 0  # new outbox rows
    already_planned: int = 0  # due, but the same touch was planned before (idempotency key existed)
    skipped: Counter[str] = field(default_factory=Counter)
    failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"scanned": self.scanned, "planned": self.planned, "already_planned": self.already_planned,
                "skipped": dict(self.skipped), "failed": self.failed}


def run_sweep(container: Container, now: datetime | None = None) -> SweepReport:
    now = now or container.clock.now()
    config = scheduler_config(container)
    rules = {rule.stage.value: rule for rule in container.stages.rules()}
    all_rules = container.stages.rules()
    report = SweepReport()
    for batch in _candidate_batches(container, config.sweep.batch_size):
        first, last = batch[0].id, batch[-1].id
        with container.engine.connect() as conn:
            pending = _pending_accounts(conn, first, last)
            options = contact_options(conn, {row.cardholder_id for row in batch})
        rows: list[dict[str, Any]] = []
        for account in batch:
            report.scanned += 1
            try:
                planned = _plan(account, rules, all_rules, config.sweep, pending, options, now, report)
            except Exception:  # one bad account never stops the sweep
                log.exception("sweep: planning account %s failed", account.id)
                report.failed += 1
                continue
            if planned is not None:
                rows.append(planned)
        _insert(container, rows, report)
    log.info("sweep done", extra={"report": report.as_dict()})
    return report


def _plan(
    account: Any,
    rules: dict[str, StageRule],
    all_rules: tuple[StageRule, ...],
    policy: SweepPolicy,
    pending: set[int],
    options: dict[int, list[ContactOption]],
    now: datetime,
    report: SweepReport,
) -> dict[str, Any] | None:
    rule = rules.get(account.stage)
    tz = zone(account.timezone)
    today = local_date(now, tz)
    standing = assess(account.balance_minor, account.minimum_due_minor, account.due_date, today, all_rules)
    if rule is None or standing.stage != account.stage:
        report.skipped["stage_not_current"] += 1  # staging has not caught up yet; it will within the hour
        return None
    last_at, changed_at = account.last_reminder_at, account.stage_changed_at
    state = TouchState(standing.days_past_due, account.touches_in_stage, local_date(last_at, tz) if last_at else None,
                       last_at, changed_at, local_date(changed_at, tz) if changed_at else None)
    slot = touch_due(rule, state, today, policy.min_gap_days_after_stage_change)
    if slot is None:
        report.skipped["not_due"] += 1
        return None
    if account.id in pending:
        report.skipped["reminder_pending"] += 1
        return None
    contact = choose_contact(options.get(account.cardholder_id, ()), rule.channels,
                             frozenset(policy.consent_required))
    if contact is None:
        report.skipped["no_usable_contact"] += 1
        return None
    # An unknown zone is not guessed: the row goes now and the gate blocks it with the reason on record.
    window = policy.send_window
    not_before = earliest_send(now, tz, window.start, window.end) if tz else now
    return outbox_row(
        key=reminder_key(account.id, account.due_date, account.stage, slot),
        cardholder_id=account.cardholder_id,
        account_id=account.id,
        contact_point_id=contact.contact_point_id,
        channel=contact.channel.value,
        purpose=MessagePurpose.REMINDER,
        template_id=reminder_template(account.stage, contact),
        language=account.language,
        params=reminder_params(account, rule, standing.days_past_due, slot),
        not_before=not_before,
        now=now,
        priority=policy.priority,
    )


def reminder_params(account: Any, rule: StageRule, dpd: int, slot: int) -> dict[str, Any]:
    return {
        "stage": account.stage,
        "tone": rule.tone.value,
        "touch": slot + 1,
        "days_past_due": max(dpd, 0),
        "amount_due_minor": account.minimum_due_minor,
        "balance_minor": account.balance_minor,
        "currency": account.currency,
        "due_date": account.due_date.isoformat(),
    }


def _insert(container: Container, rows: Sequence[dict[str, Any]], report: SweepReport) -> None:
    added, failed = insert_isolated(container.engine, rows)
    report.planned += added
    report.failed += failed
    report.already_planned += len(rows) - added - failed


def _candidate_batches(container: Container, size: int) -> Iterator[Sequence[Any]]:
    """Accounts in a reminder stage that nothing excludes, by ascending id (keyset pagination)."""
    open_promise = exists().where(and_(Promise.account_id == _A.c.id, Promise.status == PromiseStatus.OPEN.value))
    plan_in_force = exists().where(
        and_(InstallmentPlan.account_id == _A.c.id, InstallmentPlan.status.in_(_PLAN_PAUSES))
    )
    base = (
        select(
            _A.c.id, _A.c.cardholder_id, _A.c.stage, _A.c.due_date, _A.c.balance_minor, _A.c.minimum_due_minor,
            _A.c.currency, _A.c.touches_in_stage, _A.c.last_reminder_at, _A.c.stage_changed_at,
            _C.c.language, _C.c.timezone,
        )
        .join(_C, _C.c.id == _A.c.cardholder_id)
        .where(
            _A.c.stage.in_([s.value for s in REMINDER_STAGES]),
            _A.c.reminders_paused_reason.is_(None),
            _A.c.balance_minor > 0,
            _C.c.do_not_contact.is_(None),  # the gate would block: do not fill the outbox with certain blocks
            _C.c.cease_requested_at.is_(None),
            ~open_promise,
            ~plan_in_force,
        )
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


def _pending_accounts(conn: Connection, first: int, last: int) -> set[int]:
    """Accounts in [first, last] that already have a reminder waiting to go out."""
    rows = conn.execute(
        select(OUTBOX.c.account_id)
        .where(
            OUTBOX.c.account_id >= first,
            OUTBOX.c.account_id <= last,
            OUTBOX.c.status.in_(PENDING),
            OUTBOX.c.purpose == MessagePurpose.REMINDER.value,
        )
        .distinct()
    )
    return {row[0] for row in rows}

