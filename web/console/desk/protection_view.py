"""The protective-states panel of the conversation page: every state of the cardholder (in force, proposed, and
past), its evidence, how it ended, its audit events, and which decisions this user may take on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from compliance.packs import Pack
from compliance.protection import in_force
from core.clock import ensure_utc
from core.protection import OUTCOMES, ProtectiveKind, StateStatus
from storage.tables import AuditEvent, ContactPoint, ProtectiveState
from web.console.desk.protection import DISMISS, SETTABLE
from web.console.masking import Viewer, display_address, display_name

# Evidence keys shown, in this order, each with its catalog label; anything else is shown under its own name.
EVIDENCE_ORDER = ("message_id", "attorney_name", "attorney_contact", "case_number", "court", "driver", "note",
                  "channel", "method", "confirmed_by")
# Console events about a state that the service does not write itself (compliance/protection*.py audits the rest).
CONSOLE_EVENTS = ("console.validation_notice_queued",)
SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class AuditLine:
    seq: int
    at: datetime
    actor: str
    kind: str
    detail: str


@dataclass
class StateView:
    id: int
    kind: str
    status: str
    scope: str | None  # None: the whole person; else the (masked) address
    set_by: str
    actor: str
    set_at: datetime
    reason: str
    evidence: list[tuple[str, Any]]
    conversation_id: int | None  # where the evidence's message is, for its link
    review_on: date | None
    lifted_at: datetime | None
    lifted_by: str | None
    lift_outcome: str | None
    lift_reason: str | None
    decided_at: datetime | None
    in_force: bool
    outcomes: tuple[str, ...] = ()  # the decisions offered (empty once decided)
    needs_supervisor: bool = False  # the pack lets only a supervisor lift it, and this user is not one
    dismiss: str | None = None  # the outcome a "Dismiss" of this proposal records
    audit: list[AuditLine] = field(default_factory=list)


@dataclass
class ProtectionPanel:
    current: list[StateView]  # active, and decided ones still obeyed until their lifted_at
    proposed: list[StateView]
    past: list[StateView]
    settable: tuple[str, ...]
    conversation_third_party: bool  # an active third_party state covers this conversation's address

    @property
    def empty(self) -> bool:
        return not (self.current or self.proposed or self.past)


def load_panel(s: Session, cardholder_id: int, contact_point_id: int | None, *, viewer: Viewer, case_needs: bool,
               role: str, pack: Pack | None, now: datetime) -> ProtectionPanel:
    rows = list(s.scalars(select(ProtectiveState).where(ProtectiveState.cardholder_id == cardholder_id)
                          .order_by(ProtectiveState.set_at.desc(), ProtectiveState.id.desc())))
    obeyed = set(s.scalars(select(ProtectiveState.id).where(ProtectiveState.cardholder_id == cardholder_id,
                                                            in_force(now))))
    addresses = {p.id: p.address for p in s.scalars(select(ContactPoint).where(
        ContactPoint.id.in_({r.contact_point_id for r in rows if r.contact_point_id is not None})))}
    events = _audit_by_state(s, cardholder_id, {r.id for r in rows})
    panel = ProtectionPanel([], [], [], tuple(k.value for k in SETTABLE), False)
    for row in rows:
        view = _view(row, row.id in obeyed, addresses, viewer, case_needs, role, pack)
        view.audit = events.get(row.id, [])
        if row.status == StateStatus.PROPOSED.value:
            panel.proposed.append(view)
        elif view.in_force:
            panel.current.append(view)
        else:
            panel.past.append(view)
        if (view.in_force and row.kind == ProtectiveKind.THIRD_PARTY.value
                and contact_point_id is not None and row.contact_point_id == contact_point_id):
            panel.conversation_third_party = True
    return panel


def _view(row: ProtectiveState, obeyed: bool, addresses: dict[int, str], viewer: Viewer, case_needs: bool,
          role: str, pack: Pack | None) -> StateView:
    kind = ProtectiveKind(row.kind)
    open_ = row.status != StateStatus.LIFTED.value
    rule = pack.protective_states[kind] if pack is not None else None
    scope = None
    if row.contact_point_id is not None:
        scope = display_address(addresses.get(row.contact_point_id), viewer,
                                subject=f"cardholder:{row.cardholder_id}")
    return StateView(
        id=row.id, kind=row.kind, status=row.status, scope=scope, set_by=row.set_by, actor=row.actor,
        set_at=ensure_utc(row.set_at), reason=row.reason, evidence=_evidence(row, viewer, case_needs),
        conversation_id=(row.evidence or {}).get("conversation_id"),
        review_on=row.review_on, lifted_at=ensure_utc(row.lifted_at) if row.lifted_at else None,
        lifted_by=row.lifted_by, lift_outcome=row.lift_outcome, lift_reason=row.lift_reason,
        decided_at=ensure_utc(row.decided_at) if row.decided_at else None, in_force=obeyed,
        # A channel opt-out ends only by the cardholder's START (it mirrors the contact point's opt-out).
        outcomes=tuple(o.value for o in OUTCOMES[kind]) if open_ and kind in SETTABLE else (),
        needs_supervisor=bool(rule and rule.lift_requires == "supervisor" and role != SUPERVISOR),
        dismiss=DISMISS[kind].value if open_ and kind in DISMISS else None,
    )


def _evidence(row: ProtectiveState, viewer: Viewer, case_needs: bool) -> list[tuple[str, Any]]:
    """The evidence as (key, value) pairs. An attorney's name and contact are what the officer holding the case
    must use instead of the person, so they follow the cardholder's name rule; others see them masked."""
    evidence = dict(row.evidence or {})
    evidence.pop("conversation_id", None)
    subject = f"cardholder:{row.cardholder_id}"
    if evidence.get("attorney_name"):
        evidence["attorney_name"] = display_name(str(evidence["attorney_name"]), viewer, case_needs=case_needs,
                                                 subject=subject)
    if evidence.get("attorney_contact") and not case_needs:
        evidence["attorney_contact"] = display_address(str(evidence["attorney_contact"]), viewer, subject=subject)
    ordered = [(key, evidence.pop(key)) for key in EVIDENCE_ORDER if evidence.get(key) not in (None, "")]
    return ordered + [(key, value) for key, value in sorted(evidence.items()) if value not in (None, "")]


def _audit_by_state(s: Session, cardholder_id: int, state_ids: set[int]) -> dict[int, list[AuditLine]]:
    """Audit events that name a state, from the cardholder's protection events. The payload is JSON, read in
    Python: the same on SQLite and PostgreSQL, and one person's events are few."""
    if not state_ids:
        return {}
    rows = s.scalars(select(AuditEvent).where(
        AuditEvent.subject_type == "cardholder", AuditEvent.subject_id == str(cardholder_id),
        or_(AuditEvent.kind.like("protection.%"), AuditEvent.kind.in_(CONSOLE_EVENTS))).order_by(AuditEvent.seq))
    found: dict[int, list[AuditLine]] = {}
    for event in rows:
        state_id = (event.payload or {}).get("state_id")
        if state_id in state_ids:
            found.setdefault(state_id, []).append(AuditLine(event.seq, ensure_utc(event.occurred_at), event.actor,
                                                            event.kind, _detail(event.payload)))
    return found


def _detail(payload: dict[str, Any]) -> str:
    keys = ("outcome", "reason", "effective_at", "role", "outbox_id")
    return " · ".join(f"{k}={payload[k]}" for k in keys if payload.get(k) not in (None, ""))
