"""The scheduler's side of protective states: the sweep and the follow-ups never plan what a state blocks, and
the dispatcher cancels a claimed row that a state set after its planning now blocks (the gate would block it
too; cancelling says why without a blocked attempt on the cardholder's record)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from accord.bootstrap import Container
from accord.policy_packs import policy_packs
from compliance.packs import Pack
from compliance.protection import StateFact, active_facts, effect_for, in_force
from core.clock import ensure_utc
from core.enums import MessagePurpose
from core.protection import Effect, ProtectiveKind
from scheduler.claim import ClaimedRow
from storage.tables import Account, Cardholder, ProtectiveState


def states_in_range(conn: Connection, first: int, last: int, now: datetime) -> dict[int, tuple[StateFact, ...]]:
    """States in force for the owners of accounts [first, last]: a range join, like the sweep's other reads."""
    holders = select(Account.cardholder_id).where(Account.id >= first, Account.id <= last).scalar_subquery()
    rows = conn.execute(select(ProtectiveState.cardholder_id, ProtectiveState.kind, ProtectiveState.set_at,
                               ProtectiveState.contact_point_id)
                        .where(ProtectiveState.cardholder_id.in_(holders), in_force(now)))
    found: dict[int, list[StateFact]] = {}
    for holder_id, kind, set_at, point_id in rows:
        found.setdefault(holder_id, []).append(StateFact(ProtectiveKind(kind), ensure_utc(set_at), point_id))
    return {holder_id: tuple(states) for holder_id, states in found.items()}


def blocking(pack: Pack | None, states: Sequence[StateFact], purpose: MessagePurpose,
             contact_point_id: int | None = None) -> str | None:
    """"protective_state:<kind>" when a state in force blocks this purpose (to this address), else None.
    Without a pack any state blocks: the gate would refuse the message anyway."""
    if not states:
        return None
    if pack is None:
        return f"protective_state:{states[0].kind.value}"
    effect, state = effect_for(pack, states, purpose, contact_point_id)
    return f"protective_state:{state.kind.value}" if effect is Effect.BLOCK and state is not None else None


def blocked_for_person(session: Session, pack: Pack | None, cardholder_id: int, purpose: MessagePurpose,
                       now: datetime) -> str | None:
    """For one follow-up being planned: the reason a person-wide state blocks it, if one does."""
    states = [s for s in active_facts(session, [cardholder_id], now).get(cardholder_id, ()) if s.covers(None)]
    return blocking(pack, states, purpose) if states else None


def blocked_rows(container: Container, rows: Sequence[ClaimedRow], now: datetime) -> dict[int, str]:
    """Claimed outbox row id -> the protective state that now blocks it."""
    if not rows:
        return {}
    packs = policy_packs(container)
    holders = {row.cardholder_id for row in rows}
    with container.session_factory() as session:
        states = active_facts(session, holders, now)
        if not states:
            return {}
        jurisdictions: dict[int, Any] = dict(session.execute(
            select(Cardholder.id, Cardholder.jurisdiction).where(Cardholder.id.in_(set(states)))).tuples().all())
    blocked: dict[int, str] = {}
    for row in rows:
        held = states.get(row.cardholder_id)
        if not held:
            continue
        reason = blocking(packs.get(jurisdictions.get(row.cardholder_id, "")), held, MessagePurpose(row.purpose),
                          row.contact_point_id)
        if reason is not None:
            blocked[row.id] = reason
    return blocked
