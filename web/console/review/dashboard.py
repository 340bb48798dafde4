"""Dashboard figures for a date range, each one query against indexed columns.

"Messages by cardholder-local hour" counts the gate's allow decisions by the hour in the local time the gate
recorded for the cardholder, per policy pack: exactly what a reviewer needs to see that nothing went out at night.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session

from core.enums import Stage
from storage.tables import (
    Account,
    ComplianceDecision,
    ContactPoint,
    Escalation,
    InstallmentPlan,
    Promise,
    StageChange,
)
from storage.types import UTCDateTime

STAGE_ORDER = [s.value for s in Stage if s not in (Stage.CURRENT, Stage.SETTLED)]
CURED = {Stage.CURRENT.value, Stage.SETTLED.value}


@dataclass
class Dashboard:
    hours: dict[str, list[int]] = field(default_factory=dict)
    blocks: list[tuple[str, int]] = field(default_factory=list)
    optouts: list[tuple[str, int]] = field(default_factory=list)
    escalations: list[tuple[str, int]] = field(default_factory=list)
    first_reply_minutes: float | None = None
    promise_kept: tuple[int, int] = (0, 0)  # kept, kept + broken
    plan_acceptance: tuple[int, int] = (0, 0)  # accepted, offered
    cure_roll: list[dict[str, Any]] = field(default_factory=list)


def build(s: Session, start: datetime, end: datetime) -> Dashboard:
    d = Dashboard()
    d.hours = hours_by_pack(s, start, end)
    d.blocks = blocks_by_reason(s, start, end)
    d.optouts = [(c, n) for c, n in s.execute(
        select(ContactPoint.channel, func.count()).where(ContactPoint.opted_out_at >= start,
                                                         ContactPoint.opted_out_at < end)
        .group_by(ContactPoint.channel).order_by(func.count().desc()))]
    d.escalations = [(r, n) for r, n in s.execute(
        select(Escalation.reason, func.count()).where(Escalation.created_at >= start, Escalation.created_at < end)
        .group_by(Escalation.reason).order_by(func.count().desc()))]
    waits = [(reply - created).total_seconds() / 60 for created, reply in s.execute(
        select(Escalation.created_at, Escalation.first_reply_at).where(
            Escalation.created_at >= start, Escalation.created_at < end, Escalation.first_reply_at.is_not(None)))]
    d.first_reply_minutes = statistics.median(waits) if waits else None
    promises = {str(status): int(n) for status, n in s.execute(select(Promise.status, func.count()).where(
        Promise.created_at >= start, Promise.created_at < end, Promise.status.in_(["kept", "broken"]))
        .group_by(Promise.status)).all()}
    d.promise_kept = (promises.get("kept", 0), promises.get("kept", 0) + promises.get("broken", 0))
    offered = s.scalar(select(func.count()).where(InstallmentPlan.created_at >= start,
                                                  InstallmentPlan.created_at < end)) or 0
    accepted = s.scalar(select(func.count()).where(InstallmentPlan.created_at >= start,
                                                   InstallmentPlan.created_at < end,
                                                   InstallmentPlan.accepted_at.is_not(None))) or 0
    d.plan_acceptance = (accepted, offered)
    d.cure_roll = cure_roll(s, start, end)
    return d


def hours_by_pack(s: Session, start: datetime, end: datetime) -> dict[str, list[int]]:
    hour = func.substr(ComplianceDecision.local_time, 12, 2)
    rows = s.execute(
        select(ComplianceDecision.policy_pack, hour, func.count())
        .where(ComplianceDecision.outcome == "allow", ComplianceDecision.decided_at >= start,
               ComplianceDecision.decided_at < end, ComplianceDecision.local_time.is_not(None))
        .group_by(ComplianceDecision.policy_pack, hour)
    ).all()
    out: dict[str, list[int]] = {}
    for pack, hh, count in rows:
        if hh and str(hh).isdigit():
            out.setdefault(pack, [0] * 24)[int(hh)] += count
    return dict(sorted(out.items()))


def blocks_by_reason(s: Session, start: datetime, end: datetime) -> list[tuple[str, int]]:
    if s.get_bind().dialect.name == "postgresql":
        sql = ("SELECT r, count(*) FROM compliance_decisions, jsonb_array_elements_text(reasons) AS r "
               "WHERE outcome = 'block' AND decided_at >= :start AND decided_at < :end GROUP BY r ORDER BY 2 DESC")
    else:
        sql = ("SELECT j.value, count(*) FROM compliance_decisions, json_each(compliance_decisions.reasons) AS j "
               "WHERE outcome = 'block' AND decided_at >= :start AND decided_at < :end GROUP BY j.value "
               "ORDER BY 2 DESC")
    # Typed bind parameters, so the times are stored-format UTC on both backends.
    query = text(sql).bindparams(bindparam("start", type_=UTCDateTime()), bindparam("end", type_=UTCDateTime()))
    return [(str(r), int(n)) for r, n in s.execute(query, {"start": start, "end": end}).all()]


def cure_roll(s: Session, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per delinquent stage: of the accounts in it at the start of the range, how many cured or rolled forward."""
    now_in = {str(stage): int(n) for stage, n in
              s.execute(select(Account.stage, func.count()).group_by(Account.stage)).all()}
    moves = s.execute(
        select(StageChange.from_stage, StageChange.to_stage, func.count())
        .where(StageChange.changed_at >= start, StageChange.changed_at < end)
        .group_by(StageChange.from_stage, StageChange.to_stage)).all()
    entered: dict[str, int] = {}
    left: dict[str, int] = {}
    cured: dict[str, int] = {}
    rolled: dict[str, int] = {}
    for src, dst, n in moves:
        entered[dst] = entered.get(dst, 0) + n
        if src is None:
            continue
        left[src] = left.get(src, 0) + n
        if dst in CURED or (dst in STAGE_ORDER and src in STAGE_ORDER and
                            STAGE_ORDER.index(dst) < STAGE_ORDER.index(src)):
            cured[src] = cured.get(src, 0) + n
        elif dst in STAGE_ORDER and src in STAGE_ORDER and STAGE_ORDER.index(dst) > STAGE_ORDER.index(src):
            rolled[src] = rolled.get(src, 0) + n
    rows = []
    for stage in STAGE_ORDER:
        base = now_in.get(stage, 0) - entered.get(stage, 0) + left.get(stage, 0)
        rows.append({"stage": stage, "base": base, "cured": cured.get(stage, 0), "rolled": rolled.get(stage, 0),
                     "cure_rate": cured.get(stage, 0) / base if base > 0 else None,
                     "roll_rate": rolled.get(stage, 0) / base if base > 0 else None})
    return rows
