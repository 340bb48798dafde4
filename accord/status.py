"""What an operator asks first: where the portfolio stands and what is waiting (`accord status`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from accord.bootstrap import Container
from core.enums import Channel, EscalationStatus, OutboxStatus, Stage
from storage.tables.portfolio import Account, Cardholder, ContactPoint
from storage.tables.work import Escalation, OutboxItem

CONTACT_STATES = ("active", "opted_out", "invalid", "review")


def collect_status(container: Container) -> dict[str, Any]:
    """A JSON-ready snapshot. Every known stage, state and status appears, with 0 when empty."""
    with container.session_factory() as session:
        return {
            "as_of": container.clock.now().isoformat(),
            "database": container.settings.describe()["database"],
            "cardholders": session.scalar(select(func.count()).select_from(Cardholder)) or 0,
            "accounts_by_stage": _accounts_by_stage(session),
            "contact_points": _contact_points(session),
            "outbox_by_status": _counts(session, OutboxItem.status, [s.value for s in OutboxStatus]),
            "open_escalations": _open_escalations(session),
            "policy_versions": policy_versions(container),
        }


def policy_versions(container: Container) -> dict[str, str]:
    """The version of every policy file in force, by name.

    This is the extension point for other policy files: an object in `container.extras` that has a
    `policy_versions()` method returning {name: version} (e.g. the compliance pack registry) is included
    automatically, or a loader can be added here directly.
    """
    versions = {"stages": container.stages.version}
    for item in container.extras.values():
        reporter = getattr(item, "policy_versions", None)
        if callable(reporter):
            versions.update({str(k): str(v) for k, v in reporter().items()})
    return dict(sorted(versions.items()))


def _counts(session: Session, column: Any, known: list[str]) -> dict[str, int]:
    found = dict(session.execute(select(column, func.count()).group_by(column)).tuples().all())
    return {name: int(found.pop(name, 0)) for name in known} | {str(k): int(v) for k, v in found.items()}


def _accounts_by_stage(session: Session) -> dict[str, int]:
    counts = _counts(session, Account.stage, [s.value for s in Stage])
    counts["total"] = sum(counts.values())
    return counts


def _contact_points(session: Session) -> dict[str, dict[str, int]]:
    # An opt-out outranks the provider status: an opted-out number is reported as opted out.
    state = case((ContactPoint.opted_out_at.is_not(None), "opted_out"), else_=ContactPoint.status)
    rows = session.execute(
        select(ContactPoint.channel, state, func.count()).group_by(ContactPoint.channel, state)
    ).tuples()
    table = {channel.value: dict.fromkeys(CONTACT_STATES, 0) for channel in Channel}
    for channel, name, count in rows:
        table.setdefault(channel, dict.fromkeys(CONTACT_STATES, 0))[name] = int(count)
    return table


def _open_escalations(session: Session) -> dict[str, Any]:
    rows = session.execute(
        select(Escalation.reason, func.count())
        .where(Escalation.status != EscalationStatus.RESOLVED.value)
        .group_by(Escalation.reason)
    ).tuples()
    by_reason = {str(reason): int(count) for reason, count in rows}
    return {"total": sum(by_reason.values()), "by_reason": dict(sorted(by_reason.items()))}
