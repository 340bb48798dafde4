"""The reminder sweep: plan one outbox row for every account due a touch under its stage's cadence.

The portfolio is streamed in keyset-paginated batches (constant memory whatever its size). For each account the
pure core decides whether a touch is due, which contact point, which template and when; each batch's rows are
inserted with ON CONFLICT DO NOTHING on their idempotency key, so a second sweep for the same day adds nothing.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Table, and_, exists, select

from accord.bootstrap import Container
from accord.policy_packs import policy_packs
from compliance.packs import PackRegistry
from compliance.protection import StateFact
from core.cadence import TouchState, reminder_key, touch_due
from core.contact_choice import ContactOption, choose_contact
from core.delinquency import REMINDER_STAGES, assess
from core.enums import Channel, MessagePurpose, PlanStatus, PromiseStatus
from core.send_window import earliest_send, local_date, zone
from core.staging import StageRule
from scheduler.config import SweepPolicy
from scheduler.outbox import OUTBOX, PENDING, insert_isolated, outbox_row
from scheduler.protection_filter import blocking, states_in_range
from scheduler.runtime import scheduler_config
from scheduler.templates import reminder_template
from storage.tables import Account, Cardholder, ContactPoint, InstallmentPlan, Promise

log = logging.getLogger(__name__)

_A = cast(Table, Account.__table__)
_C = cast(Table, Cardholder.__table__)
_CP = cast(Table, ContactPoint.__table__)
# Reminders wait while the cardholder has agreed something: an open promise or a plan in force.
_PLAN_PAUSES = (PlanStatus.ACTIVE.value, PlanStatus.PENDING_APPROVAL.value)
# Batches written at once on PostgreSQL, each on its own connection. The server's COPY work per row (indexes,
# foreign keys) is about what planning costs in Python, so one write at a time left a core idle while the planner
# waited for it. SQLite has one writer at a time anyway.
WRITES_IN_FLIGHT_PG = 2


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
    """Plan every due reminder. Reading the next batch and writing the last ones overlap with planning this one
    (helper threads: one batch read ahead, up to WRITES_IN_FLIGHT_PG written behind, each write on its own
    connection), so memory stays at a few batches while the database works on more than one COPY at a time."""
    now = now or container.clock.now()
    policy = scheduler_config(container).sweep
    planner = _Planner(container.stages.rules(), policy, now, policy_packs(container))
    report = SweepReport()
    candidates = _candidates_query()
    in_flight = WRITES_IN_FLIGHT_PG if container.engine.dialect.name == "postgresql" else 1
    with ThreadPoolExecutor(max_workers=1 + in_flight, thread_name_prefix="sweep") as pool:
        reading = pool.submit(_fetch, container, candidates, 0, policy.batch_size, now)
        writing: deque[Future[tuple[int, int, int]]] = deque()
        while True:
            batch, pending, options, states = reading.result()
            if not batch:
                break
            reading = pool.submit(_fetch, container, candidates, batch[-1][0], policy.batch_size, now)
            planner.states = states
            rows = _plan_batch(planner, batch, pending, options, report)
            if len(writing) == in_flight:
                _count_written(report, writing.popleft().result())
            writing.append(pool.submit(_write, container, rows))
        while writing:
            _count_written(report, writing.popleft().result())
    log.info("sweep done", extra={"report": report.as_dict()})
    return report


def _plan_batch(planner: _Planner, batch: Sequence[Any], pending: set[int],
                options: dict[int, list[ContactOption]], report: SweepReport) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for account in batch:
        report.scanned += 1
        try:
            planned = planner.plan(account, pending, options, report.skipped)
        except Exception:  # one bad account never stops the sweep
            log.exception("sweep: planning account %s failed", account[0])
            report.failed += 1
            continue
        if planned is not None:
            rows.append(planned)
    return rows


def _write(container: Container, rows: list[tuple[Any, ...]]) -> tuple[int, int, int]:
    added, failed = insert_isolated(container.engine, rows)
    return len(rows), added, failed


def _count_written(report: SweepReport, written: tuple[int, int, int]) -> None:
    total, added, failed = written
    report.planned += added
    report.failed += failed
    report.already_planned += total - added - failed


class _Planner:
    """Applies the core's rules to one account row. Everything that depends only on the zone (local date, send
    window opening) is worked out once per zone, which keeps a million-account sweep cheap."""

    def __init__(self, rules: tuple[StageRule, ...], policy: SweepPolicy, now: datetime,
                 packs: PackRegistry) -> None:
        self.rules = rules
        self.packs = packs
        # The batch's protective states by cardholder (rare: most batches have none at all).
        self.states: dict[int, tuple[StateFact, ...]] = {}
        self.by_stage = {rule.stage.value: rule for rule in rules}
        self.policy = policy
        self.now = now
        self.consent_required = frozenset(policy.consent_required)
        self._zones: dict[str, tuple[ZoneInfo | None, date, datetime]] = {}

    def zone_facts(self, name: str) -> tuple[ZoneInfo | None, date, datetime]:
        facts = self._zones.get(name)
        if facts is None:
            tz = zone(name)
            window = self.policy.send_window
            # An unknown zone is not guessed: the row goes now and the gate blocks it with the reason on record.
            opening = earliest_send(self.now, tz, window.start, window.end) if tz else self.now
            facts = self._zones[name] = (tz, local_date(self.now, tz), opening)
        return facts

    def plan(self, account: Sequence[Any], pending: set[int], options: dict[int, list[ContactOption]],
             skipped: Counter[str]) -> tuple[Any, ...] | None:
        (account_id, holder_id, stage, due, balance, minimum, currency, touches, last_at, changed_at, language,
         zone_name, jurisdiction) = account
        rule = self.by_stage.get(stage)
        tz, today, not_before = self.zone_facts(zone_name)
        standing = assess(balance, minimum, due, today, self.rules)
        if rule is None or standing.stage != stage:
            skipped["stage_not_current"] += 1  # staging has not caught up yet; it will within the hour
            return None
        state = TouchState(standing.days_past_due, touches, local_date(last_at, tz) if last_at else None, last_at,
                           changed_at, local_date(changed_at, tz) if changed_at else None)
        slot = touch_due(rule, state, today, self.policy.min_gap_days_after_stage_change)
        if slot is None:
            skipped["not_due"] += 1
            return None
        if account_id in pending:
            skipped["reminder_pending"] += 1
            return None
        held = self.states.get(holder_id, ())
        pack = self.packs.get(jurisdiction) if held else None
        person = [s for s in held if s.covers(None)]
        blocked = blocking(pack, person, MessagePurpose.REMINDER) if person else None
        if blocked is not None:
            skipped[blocked] += 1
            return None
        usable = options.get(holder_id, ())
        if len(person) < len(held):  # an address of theirs is under a state: leave out the ones it blocks
            usable = [o for o in usable
                      if blocking(pack, held, MessagePurpose.REMINDER, o.contact_point_id) is None]
        contact = choose_contact(usable, rule.channels, self.consent_required)
        if contact is None:
            skipped["no_usable_contact"] += 1
            return None
        params = {"stage": stage, "tone": rule.tone.value, "touch": slot + 1,
                  "days_past_due": max(standing.days_past_due, 0), "amount_due_minor": minimum,
                  "balance_minor": balance, "currency": currency, "due_date": due.isoformat()}
        return outbox_row(
            key=reminder_key(account_id, due, stage, slot), cardholder_id=holder_id, account_id=account_id,
            contact_point_id=contact.contact_point_id, channel=contact.channel.value,
            purpose=MessagePurpose.REMINDER, template_id=reminder_template(stage), language=language,
            params=params, not_before=not_before, now=self.now, priority=self.policy.priority,
        )


def _candidates_query() -> Any:
    """Accounts in a reminder stage that nothing excludes, by ascending id (keyset pagination)."""
    open_promise = exists().where(and_(Promise.account_id == _A.c.id, Promise.status == PromiseStatus.OPEN.value))
    plan_in_force = exists().where(
        and_(InstallmentPlan.account_id == _A.c.id, InstallmentPlan.status.in_(_PLAN_PAUSES))
    )
    return (
        select(
            _A.c.id, _A.c.cardholder_id, _A.c.stage, _A.c.due_date, _A.c.balance_minor, _A.c.minimum_due_minor,
            _A.c.currency, _A.c.touches_in_stage, _A.c.last_reminder_at, _A.c.stage_changed_at,
            _C.c.language, _C.c.timezone, _C.c.jurisdiction,
        )
        .join(_C, _C.c.id == _A.c.cardholder_id)
        .where(
            _A.c.stage.in_([s.value for s in REMINDER_STAGES]),
            _A.c.reminders_paused_reason.is_(None),
            _A.c.balance_minor > 0,
            ~open_promise,
            ~plan_in_force,
        )
        .order_by(_A.c.id)
    )


def _fetch(container: Container, query: Any, after: int, size: int, now: datetime
           ) -> tuple[Sequence[Any], set[int], dict[int, list[ContactOption]], dict[int, tuple[StateFact, ...]]]:
    """The next batch after account `after`, with what planning it needs: pending reminders, contact points,
    protective states (the gate would block what they forbid: the outbox is not filled with certain blocks)."""
    with container.engine.connect() as conn:
        page = query.where(_A.c.id > after).limit(size)
        if conn.dialect.name == "postgresql":
            # A batch is a short index range: parallel workers would cost more to start than they save, and take
            # CPU from the concurrent COPYs.
            conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
            batch: Sequence[Any] = _driver_rows(conn, page)
        else:  # SQLite hands dates back as text, which SQLAlchemy parses
            batch = conn.execute(page).tuples().all()
        if not batch:
            return batch, set(), {}, {}
        first, last = batch[0][0], batch[-1][0]
        return (batch, _pending_accounts(conn, first, last), _contact_options(conn, first, last),
                states_in_range(conn, first, last, now))


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


def _contact_options(conn: Connection, first: int, last: int) -> dict[int, list[ContactOption]]:
    """The contact points of every cardholder owning an account in [first, last]: a range join, so the query
    stays the same size whatever the batch."""
    holders = select(_A.c.cardholder_id).where(_A.c.id >= first, _A.c.id <= last).scalar_subquery()
    rows = _driver_rows(conn, select(
        _CP.c.id, _CP.c.cardholder_id, _CP.c.channel, _CP.c.preferred, _CP.c.consent_basis.is_not(None),
        _CP.c.opted_out_at.is_not(None), _CP.c.status, _CP.c.verified,
    ).where(_CP.c.cardholder_id.in_(holders)))
    channels = {channel.value: channel for channel in Channel}
    options: dict[int, list[ContactOption]] = defaultdict(list)
    for cp_id, holder_id, channel, preferred, consent, opted_out, status, verified in rows:
        kind = channels.get(channel)
        if kind is not None:  # a channel this version does not send on is never chosen
            options[holder_id].append(ContactOption(cp_id, kind, bool(preferred), bool(consent), bool(opted_out),
                                                    status, bool(verified)))
    return options


def _driver_rows(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """Rows straight from the database driver, skipping SQLAlchemy's per-row processing, which a million-account
    sweep notices. Only for columns the driver already returns as Python values: integers, text and booleans
    anywhere, and dates and datetimes on PostgreSQL (psycopg converts them; SQLite returns text)."""
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), params)
        return list(cursor.fetchall())
    finally:
        cursor.close()
