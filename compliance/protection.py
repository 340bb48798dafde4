"""Setting protective states, and what follows at once: the audit event and the cancelled outbox rows.

Every path that learns a protective fact (the bot, an officer, the bank's import, a provider's report, a STOP
keyword) calls `set_state` in its own transaction. The state is obeyed from that commit on:
- queued and deferred outbox rows it blocks are cancelled here, with the state as their reason;
- the sweep and the follow-ups skip the person (scheduler/protection_filter.py);
- the gate decides every message against the pack's matrix again at send time (compliance/checks.py).
`set_state` locks the person's contact-ledger row, the lock the gate holds while it decides, so a decision
either finished before the state existed or sees it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from compliance import audit
from compliance.packs import Pack
from core.clock import ensure_utc
from core.enums import MessagePurpose, OutboxStatus
from core.protection import ADDRESS_KINDS, Effect, ProtectiveKind, SetBy, StateStatus
from storage.tables import Cardholder, ContactLedger, OutboxItem, ProtectiveState

# Outbox rows that have not gone to the gate yet, and may still be cancelled.
_WAITING = (OutboxStatus.QUEUED.value, OutboxStatus.DEFERRED.value)


@dataclass(frozen=True, slots=True)
class StateFact:
    """An active state as the gate and the sweep see it."""

    kind: ProtectiveKind
    set_at: datetime
    contact_point_id: int | None  # None: the whole person

    def covers(self, contact_point_id: int | None) -> bool:
        return self.contact_point_id is None or self.contact_point_id == contact_point_id


def in_force(now: datetime) -> Any:
    """SQL condition: the state is active now (a lifting decision may take effect later, e.g. after a
    dispute's validation period)."""
    return (ProtectiveState.status != StateStatus.PROPOSED.value) & or_(
        ProtectiveState.lifted_at.is_(None), ProtectiveState.lifted_at > now)


def active_facts(session: Session, cardholder_ids: Iterable[int], now: datetime) -> dict[int, tuple[StateFact, ...]]:
    """Every state in force for these people, person-wide and per address, in one statement."""
    ids = sorted(set(cardholder_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(ProtectiveState.cardholder_id, ProtectiveState.kind, ProtectiveState.set_at,
               ProtectiveState.contact_point_id)
        .where(ProtectiveState.cardholder_id.in_(ids), in_force(now))
        .order_by(ProtectiveState.id))
    found: dict[int, list[StateFact]] = {}
    for holder_id, kind, set_at, point_id in rows:
        found.setdefault(holder_id, []).append(StateFact(ProtectiveKind(kind), ensure_utc(set_at), point_id))
    return {holder_id: tuple(facts) for holder_id, facts in found.items()}


def effect_for(pack: Pack, states: Sequence[StateFact], purpose: MessagePurpose,
               contact_point_id: int | None) -> tuple[Effect, StateFact | None]:
    """The strictest cell of the matrix among the states that cover this address, and the state that set it."""
    worst, why = Effect.ALLOW, None
    for state in states:
        if not state.covers(contact_point_id):
            continue
        effect = pack.effect(state.kind, purpose)
        if effect is Effect.BLOCK:
            return effect, state
        if effect is Effect.LIMITED and worst is Effect.ALLOW:
            worst, why = effect, state
    return worst, why


def set_state(session: Session, *, cardholder_id: int, kind: ProtectiveKind | str, set_by: SetBy | str, actor: str,
              at: datetime, reason: str, pack: Pack | None, evidence: dict[str, Any] | None = None,
              contact_point_id: int | None = None, account_id: int | None = None,
              proposed: bool = False) -> ProtectiveState | None:
    """Record a state; None when the same state is already in force (or proposed) on the same scope, so a
    repeated statement changes nothing and appends nothing. `pack`: the person's policy pack, for the review
    date and the outbox rows to cancel (None: the dispatcher cancels them when it claims them)."""
    kind, origin, when = ProtectiveKind(kind), SetBy(set_by), ensure_utc(at)
    if (kind in ADDRESS_KINDS) != (contact_point_id is not None):
        raise ValueError(f"{kind.value}: {'needs' if kind in ADDRESS_KINDS else 'takes no'} contact_point_id")
    _lock_person(session, cardholder_id)
    existing = session.scalars(
        select(ProtectiveState).where(
            ProtectiveState.cardholder_id == cardholder_id, ProtectiveState.kind == kind.value,
            _same_scope(contact_point_id), or_(ProtectiveState.lifted_at.is_(None), ProtectiveState.lifted_at > when))
    ).first()
    if existing is not None and (proposed or existing.status == StateStatus.ACTIVE.value):
        return None
    if existing is not None:  # a proposal becomes real: the same row, now in force
        return confirm(session, existing, actor=actor, at=when, pack=pack, evidence=evidence)
    state = ProtectiveState(
        cardholder_id=cardholder_id, contact_point_id=contact_point_id, account_id=account_id, kind=kind.value,
        status=(StateStatus.PROPOSED if proposed else StateStatus.ACTIVE).value, set_by=origin.value,
        actor=actor[:64], set_at=when, reason=reason, evidence=dict(evidence or {}),
        review_on=_review_on(session, cardholder_id, pack, kind, when), updated_at=when)
    session.add(state)
    session.flush()
    audit.append(session, actor, "protection.proposed" if proposed else "protection.set", "cardholder", cardholder_id,
                 {"state_id": state.id, "kind": kind.value, "set_by": origin.value, "reason": reason,
                  "evidence": state.evidence, "contact_point_id": contact_point_id, "account_id": account_id}, at=when)
    if not proposed:
        cancel_blocked(session, cardholder_id, pack, [StateFact(kind, when, contact_point_id)], at=when)
    return state


def confirm(session: Session, state: ProtectiveState, *, actor: str, at: datetime, pack: Pack | None,
            evidence: dict[str, Any] | None = None) -> ProtectiveState:
    """A proposed state (e.g. a vulnerability the dialogue noticed) confirmed by an officer: in force from now."""
    when = ensure_utc(at)
    state.status, state.updated_at = StateStatus.ACTIVE.value, when
    state.evidence = {**state.evidence, **(evidence or {}), "confirmed_by": actor}
    audit.append(session, actor, "protection.confirmed", "cardholder", state.cardholder_id,
                 {"state_id": state.id, "kind": state.kind, "evidence": state.evidence}, at=when)
    cancel_blocked(session, state.cardholder_id, pack,
                   [StateFact(ProtectiveKind(state.kind), when, state.contact_point_id)], at=when)
    return state


def cancel_blocked(session: Session, cardholder_id: int, pack: Pack | None, states: Sequence[StateFact], *,
                   at: datetime) -> int:
    """Cancel the person's waiting outbox rows that these states block; returns how many."""
    if pack is None or not states:
        return 0
    rows = session.execute(
        select(OutboxItem.id, OutboxItem.purpose, OutboxItem.contact_point_id)
        .where(OutboxItem.cardholder_id == cardholder_id, OutboxItem.status.in_(_WAITING))
        .with_for_update()).all()
    cancelled: dict[str, list[int]] = {}
    for row_id, purpose, point_id in rows:
        effect, state = effect_for(pack, states, MessagePurpose(purpose), point_id)
        if effect is Effect.BLOCK and state is not None:
            cancelled.setdefault(state.kind.value, []).append(row_id)
    for kind, ids in cancelled.items():
        session.execute(update(OutboxItem).where(OutboxItem.id.in_(ids))
                        .values(status=OutboxStatus.CANCELLED.value, last_error=f"protective_state:{kind}",
                                updated_at=at))
        audit.append(session, "system", "outbox.cancelled", "cardholder", cardholder_id,
                     {"reason": f"protective_state:{kind}", "outbox_ids": ids}, at=at)
    return sum(len(ids) for ids in cancelled.values())


def _same_scope(contact_point_id: int | None) -> Any:
    if contact_point_id is None:
        return ProtectiveState.contact_point_id.is_(None)
    return ProtectiveState.contact_point_id == contact_point_id


def _lock_person(session: Session, cardholder_id: int) -> None:
    # The gate locks this row for the whole of its decision; holding it here orders the two.
    session.execute(select(ContactLedger.cardholder_id).where(ContactLedger.cardholder_id == cardholder_id)
                    .with_for_update()).first()


def _review_on(session: Session, cardholder_id: int, pack: Pack | None, kind: ProtectiveKind,
               at: datetime) -> date | None:
    days = pack.protective_states[kind].review_after_days if pack is not None else None
    if days is None:
        return None
    zone_name = session.scalar(select(Cardholder.timezone).where(Cardholder.id == cardholder_id)) or "UTC"
    try:
        local = at.astimezone(ZoneInfo(zone_name)).date()
    except (ZoneInfoNotFoundError, ValueError):
        local = at.date()
    return local + timedelta(days=days)
