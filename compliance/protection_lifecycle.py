"""How protective states end: an officer's decision, with a reason and an audit event, by the pack's rules.

- a dispute is upheld (the account was corrected or closed: collection may resume at once) or rejected (the
  pack's validation notice goes first, and the state stays in force for the pack's `resume_after_days`);
- distress is reviewed, with the date from which contact is safe again;
- a vulnerability is ended (or a proposal dismissed); its review date is shown until then;
- a payment claim is confirmed or not found;
- attorney, bankruptcy and deceased are lifted only with a reason, by a supervisor where the pack says.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.packs import Pack
from core.clock import ensure_utc
from core.protection import OUTCOMES, LiftOutcome, ProtectiveKind, StateStatus
from storage.tables import Cardholder, ProtectiveState

SUPERVISOR_ROLES = frozenset({"supervisor"})


class LiftError(ValueError):
    """The decision is not allowed; the message names the problem for the officer."""


def lift(session: Session, state_id: int, *, outcome: LiftOutcome | str, actor: str, role: str, reason: str,
         at: datetime, pack: Pack, resume_on: date | None = None) -> ProtectiveState:
    """End a state. Returns the row; its `lifted_at` may lie ahead (a rejected dispute's wait, a distress
    review's resume date), and the state is obeyed until then."""
    when = ensure_utc(at)
    state = session.scalars(select(ProtectiveState).where(ProtectiveState.id == state_id).with_for_update()).first()
    if state is None:
        raise LiftError(f"no protective state with id {state_id}")
    kind = ProtectiveKind(state.kind)
    try:
        decided = LiftOutcome(outcome)
    except ValueError as exc:
        raise LiftError(f"unknown outcome {outcome!r}; {kind.value} ends with "
                        f"{', '.join(o.value for o in OUTCOMES[kind])}") from exc
    if state.status == StateStatus.LIFTED.value:
        raise LiftError(f"{kind.value} state {state_id} was already decided ({state.lift_outcome})")
    if decided not in OUTCOMES[kind]:
        raise LiftError(f"{kind.value} cannot end as {decided.value}; it ends with "
                        f"{', '.join(o.value for o in OUTCOMES[kind])}")
    if state.status == StateStatus.PROPOSED.value and decided is not LiftOutcome.VULNERABILITY_DISMISSED:
        # A proposal was never in force: it is confirmed (compliance.protection.confirm) or dismissed, nothing else.
        raise LiftError(f"{kind.value} state {state_id} is only proposed: confirm it or dismiss it")
    if not reason.strip():
        raise LiftError("a reason is required to end a protective state")
    rule = pack.protective_states[kind]
    if rule.lift_requires == "supervisor" and role not in SUPERVISOR_ROLES:
        raise LiftError(f"the {pack.pack.value} pack lets only a supervisor lift {kind.value}")
    effective = _effective(session, state, decided, when, pack, resume_on)
    state.status, state.lifted_at, state.lifted_by = StateStatus.LIFTED.value, effective, actor[:64]
    state.lift_outcome, state.lift_reason, state.decided_at, state.updated_at = decided.value, reason, when, when
    audit.append(session, actor, "protection.lifted", "cardholder", state.cardholder_id,
                 {"state_id": state.id, "kind": kind.value, "outcome": decided.value, "reason": reason,
                  "effective_at": effective.isoformat(), "role": role}, at=when)
    return state


def _effective(session: Session, state: ProtectiveState, outcome: LiftOutcome, at: datetime, pack: Pack,
               resume_on: date | None) -> datetime:
    if outcome is LiftOutcome.DISPUTE_REJECTED:
        return at + timedelta(days=pack.protective_states[ProtectiveKind.DISPUTE].resume_after_days)
    if outcome is LiftOutcome.DISTRESS_REVIEWED:
        if resume_on is None:
            raise LiftError("a distress review needs the date from which contact is safe again")
        zone = _zone(session, state.cardholder_id)
        start = datetime.combine(resume_on, time(0, 0), tzinfo=zone)
        if start.astimezone(at.tzinfo) < at - timedelta(days=1):
            raise LiftError(f"the resume date {resume_on.isoformat()} is in the past")
        return max(ensure_utc(start), at)
    return at


def _zone(session: Session, cardholder_id: int) -> ZoneInfo:
    name = session.scalar(select(Cardholder.timezone).where(Cardholder.id == cardholder_id)) or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def lift_address_state(session: Session, contact_point_id: int, kind: ProtectiveKind, *, outcome: LiftOutcome,
                       actor: str, reason: str, at: datetime) -> bool:
    """End an address's state without an officer's form: START after STOP lifts the channel opt-out."""
    when = ensure_utc(at)
    rows = session.scalars(select(ProtectiveState).where(
        ProtectiveState.contact_point_id == contact_point_id, ProtectiveState.kind == kind.value,
        ProtectiveState.status != StateStatus.LIFTED.value).with_for_update()).all()
    for state in rows:
        state.status, state.lifted_at, state.lifted_by = StateStatus.LIFTED.value, when, actor[:64]
        state.lift_outcome, state.lift_reason, state.decided_at, state.updated_at = outcome.value, reason, when, when
        audit.append(session, actor, "protection.lifted", "cardholder", state.cardholder_id,
                     {"state_id": state.id, "kind": kind.value, "outcome": outcome.value, "reason": reason,
                      "effective_at": when.isoformat()}, at=when)
    return bool(rows)
