"""Recording what an officer agreed or learned: promise, plan, dispute, do-not-contact, or closed.

Each outcome resolves the open escalation and writes the state change the rest of Accord acts on (the scheduler
follows up promises and installments). A dispute and a do-not-contact reason are protective states
(compliance/protection.py), set as an officer would set them from the protective-states panel, so the gate, the
sweep and the follow-ups obey them and queued messages they block are cancelled at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from compliance.packs import Pack
from core.enums import ConversationState, EscalationStatus, MessagePurpose, PromiseStatus
from core.protection import ProtectiveKind
from storage.tables import (
    Account,
    Cardholder,
    Conversation,
    Escalation,
    Installment,
    InstallmentPlan,
    OutboxItem,
    Promise,
)
from web.console.desk.plans import PlanError, accept
from web.console.desk.protection import ProtectionError, StateForm, set_from_console

OUTCOMES = ("promise", "plan", "dispute_opened", "do_not_contact", "closed")

# The do-not-contact reasons the outcome form offers, and the protective state each one is.
DNC_STATES: dict[str, ProtectiveKind] = {
    "attorney_represented": ProtectiveKind.ATTORNEY,
    "bankruptcy": ProtectiveKind.BANKRUPTCY,
    "dispute_pending": ProtectiveKind.DISPUTE,
    "deceased": ProtectiveKind.DECEASED,
}


class OutcomeError(ValueError):
    pass


@dataclass(frozen=True)
class OutcomeForm:
    kind: str
    account_id: int | None = None
    amount_minor: int | None = None
    promised_date: date | None = None
    plan_id: int | None = None
    dnc_reason: str | None = None
    note: str | None = None


def record_outcome(s: Session, conv: Conversation, form: OutcomeForm, username: str, now: datetime,
                   local_today: date, first_payment_days: int = 7, *, pack: Pack | None = None) -> dict[str, object]:
    """Apply one outcome; returns what the audit event should say about it. `pack`: the cardholder's policy
    pack, for the queued messages a protective state cancels (None leaves that to the dispatcher)."""
    if form.kind not in OUTCOMES:
        raise OutcomeError(f"unknown outcome {form.kind!r}; choose one of {', '.join(OUTCOMES)}")
    holder = s.get(Cardholder, conv.cardholder_id)
    assert holder is not None
    accounts = {a.id: a for a in holder.accounts}
    account = accounts.get(form.account_id or 0) or (next(iter(accounts.values())) if accounts else None)
    detail: dict[str, object] = {"outcome": form.kind}
    if form.kind == "promise":
        if account is None or not form.amount_minor or form.amount_minor <= 0 or form.promised_date is None:
            raise OutcomeError("a promise needs an account, a positive amount and a date")
        if form.promised_date < local_today:
            raise OutcomeError(f"the promised date {form.promised_date} is in the past")
        promise = Promise(account_id=account.id, conversation_id=conv.id, amount_minor=form.amount_minor,
                          promised_date=form.promised_date, status=PromiseStatus.OPEN,
                          recorded_by=f"officer:{username}", created_at=now)
        s.add(promise)
        s.flush()
        detail.update(promise_id=promise.id, amount_minor=form.amount_minor, date=str(form.promised_date))
    elif form.kind == "plan":
        if form.plan_id is None:
            raise OutcomeError("choose the proposed plan the cardholder accepted")
        try:
            plan = accept(s, form.plan_id, list(accounts), first_due=local_today + timedelta(days=first_payment_days),
                          now=now)
        except PlanError as exc:
            raise OutcomeError(str(exc)) from exc
        _pause(accounts.get(plan.account_id), "installment_plan")  # the same pause the bot's acceptance sets
        _confirm_plan(s, conv, holder, plan, now)
        detail.update(plan_id=plan.id)
    elif form.kind == "dispute_opened":
        # No reminder pause on the account: the state blocks collection, and lifting it resumes collection.
        state_id = _protect(s, conv, ProtectiveKind.DISPUTE, form.note or "the cardholder disputes the debt",
                            username, now, pack, account.id if account else None)
        detail.update(account_id=account.id if account else None, state_id=state_id)
    elif form.kind == "do_not_contact":
        kind = DNC_STATES.get(form.dnc_reason or "")
        if kind is None:
            raise OutcomeError(f"do-not-contact needs a reason: {', '.join(DNC_STATES)}")
        state_id = _protect(s, conv, kind, form.note or f"do not contact: {form.dnc_reason}", username, now, pack,
                            account.id if account else None)
        detail.update(reason=form.dnc_reason, state=kind.value, state_id=state_id)
    if form.kind in ("do_not_contact", "closed"):
        conv.state, conv.held_by = ConversationState.CLOSED, None
    resolve_escalations(s, conv.id, form.kind, form.note, now)
    return detail


def _protect(s: Session, conv: Conversation, kind: ProtectiveKind, reason: str, username: str, now: datetime,
             pack: Pack | None, account_id: int | None) -> int | None:
    """The state's id; None when it was already in force (nothing new to record)."""
    try:
        state = set_from_console(s, conv, StateForm(kind=kind.value, reason=reason, require_evidence=False), username, now, pack,
                                 account_id=account_id)
    except ProtectionError as exc:
        raise OutcomeError(str(exc)) from exc
    return state.id if state is not None else None


def _confirm_plan(s: Session, conv: Conversation, holder: Cardholder, plan: InstallmentPlan, now: datetime) -> None:
    """Queue the plan confirmation the bot also sends (template plan.confirmation); the dispatcher takes it
    through the compliance gate like any other message."""
    first = min(s.scalars(select(Installment.due_date).where(Installment.plan_id == plan.id)), default=None)
    s.add(OutboxItem(
        idempotency_key=f"plan-confirmation:{plan.id}", cardholder_id=holder.id, account_id=plan.account_id,
        conversation_id=conv.id, contact_point_id=conv.contact_point_id, channel=conv.channel,
        purpose=MessagePurpose.PLAN_CONFIRMATION.value, template_id="plan.confirmation", language=holder.language,
        priority=20, params={"term_months": plan.term_months, "monthly_amount": plan.monthly_minor,
                             "first_due_date": first.isoformat() if first else None, "plan_total": plan.total_minor},
        not_before=now, status="queued", created_at=now, updated_at=now,
    ))


def _pause(account: Account | None, reason: str) -> None:
    if account is not None:
        account.reminders_paused_reason = reason


def resolve_escalations(s: Session, conversation_id: int, outcome: str, note: str | None, now: datetime) -> None:
    s.execute(
        update(Escalation)
        .where(Escalation.conversation_id == conversation_id,
               Escalation.status.in_([EscalationStatus.OPEN, EscalationStatus.CLAIMED]))
        .values(status=EscalationStatus.RESOLVED, resolved_at=now, outcome=outcome, note=note)
        .execution_options(synchronize_session=False)
    )


def mark_first_reply(s: Session, conversation_id: int, now: datetime) -> None:
    s.execute(
        update(Escalation)
        .where(Escalation.conversation_id == conversation_id, Escalation.first_reply_at.is_(None),
               Escalation.status == EscalationStatus.CLAIMED)
        .values(first_reply_at=now)
        .execution_options(synchronize_session=False)
    )
