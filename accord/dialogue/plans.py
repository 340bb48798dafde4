"""Hardship to plan: offer options within policy, read one back, record it on an explicit yes.

Offered options are stored as `installment_plans` rows in status "proposed"; choosing one cancels the others;
confirming activates it, writes its installment schedule, pauses ordinary reminders (the plan's own installment
reminders take over) and queues the written plan confirmation through the outbox.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.dialogue.config import NegotiationFile
from accord.dialogue.extract import extract_amount, extract_months, normalise
from accord.dialogue.handoff import escalate, hand_over
from accord.dialogue.party import Party, TurnOutcome
from bot.audit_link import append_audit
from bot.escalations import open_escalation
from compliance.protection import set_state
from core.enums import EscalationReason, MessagePurpose, PlanStatus
from core.negotiation import PlanOption, evaluate_counter_offer, propose, schedule
from core.protection import ProtectiveKind, SetBy, VulnerabilityDriver
from storage.tables import Installment, InstallmentPlan, OutboxItem

HARDSHIP_TYPES = ("job_loss", "illness", "injury", "family_emergency", "business_failure", "reduced_income",
                  "disaster", "other")
_ORDINALS = {"1": 1, "2": 2, "3": 3, "one": 1, "two": 2, "three": 3, "first": 1, "second": 2, "third": 3}
_ORDINAL = re.compile(r"(?:option|plan|方案|第|#|no\.?)\s*(\d|one|two|three)|\b(first|second|third)\b|^\s*(\d)\s*$",
                      re.IGNORECASE)
_SETTLE = re.compile(r"settle|lump|一次性|结清|了结", re.IGNORECASE)
_CHEAPEST = re.compile(r"lower|lowest|cheap|smallest|少|低", re.IGNORECASE)


# Hardships that may make a person vulnerable (FCA FG21/1's drivers): the bot proposes the state and an officer
# confirms or dismisses it; until then it is shown, not enforced.
VULNERABILITY_DRIVERS = {"illness": VulnerabilityDriver.HEALTH, "injury": VulnerabilityDriver.HEALTH,
                         "family_emergency": VulnerabilityDriver.LIFE_EVENT}


def propose_vulnerability(session: Session, party: Party, hardship_type: str | None, *, now: datetime) -> None:
    driver = VULNERABILITY_DRIVERS.get(hardship_type or "")
    if driver is None:
        return
    state = set_state(session, cardholder_id=party.cardholder.id, kind=ProtectiveKind.VULNERABILITY,
                      set_by=SetBy.BOT, actor="bot", at=now, reason=f"hardship explained in chat: {hardship_type}",
                      pack=None, account_id=party.account.id if party.account else None, proposed=True,
                      evidence={"driver": driver.value, "hardship_type": hardship_type,
                                "conversation_id": party.conversation.id})
    if state is not None:  # a back-office review: the bot carries on with the plan meanwhile
        open_escalation(session, cardholder_id=party.cardholder.id, conversation_id=party.conversation.id,
                        account_id=party.account.id if party.account else None,
                        reason=EscalationReason.VULNERABILITY_REVIEW,
                        detail={"state_id": state.id, "driver": driver.value}, at=now)


def first_known(values: list[str | None]) -> str | None:
    """The first value that is one of Accord's hardship types (the NLU may also mark stray words)."""
    return next((v for v in values if v in HARDSHIP_TYPES), None)


def hardship_reason(hardship_type: str | None) -> str:
    return hardship_type if hardship_type in HARDSHIP_TYPES else "other"


def _proposals(session: Session, party: Party) -> list[InstallmentPlan]:
    return list(session.scalars(
        select(InstallmentPlan)
        .where(InstallmentPlan.conversation_id == party.conversation.id,
               InstallmentPlan.status == PlanStatus.PROPOSED.value)
        .order_by(InstallmentPlan.id)
    ))


def _cancel(plans: list[InstallmentPlan]) -> None:
    for plan in plans:
        plan.status = PlanStatus.CANCELLED.value


def _as_option(plan: InstallmentPlan) -> PlanOption:
    remaining = plan.total_minor - plan.down_payment_minor
    last = remaining - plan.monthly_minor * (plan.term_months - 1)
    kind = "settlement" if plan.settlement_discount_bp else "installments"
    return PlanOption(kind=kind, term_months=plan.term_months, total_minor=plan.total_minor,
                      down_payment_minor=plan.down_payment_minor, monthly_minor=plan.monthly_minor, last_minor=last,
                      fees_waived=plan.fees_waived, interest_waived=plan.interest_waived,
                      settlement_discount_bp=plan.settlement_discount_bp)


def _store(session: Session, party: Party, option: PlanOption, now: datetime, by: str) -> InstallmentPlan:
    assert party.account is not None
    plan = InstallmentPlan(
        account_id=party.account.id, conversation_id=party.conversation.id, status=PlanStatus.PROPOSED.value,
        term_months=option.term_months, total_minor=option.total_minor,
        down_payment_minor=option.down_payment_minor, monthly_minor=option.monthly_minor,
        fees_waived=option.fees_waived, interest_waived=option.interest_waived,
        settlement_discount_bp=option.settlement_discount_bp, proposed_by=by, created_at=now,
    )
    session.add(plan)
    session.flush()
    return plan


def _terms(party: Party, option: PlanOption, cfg: NegotiationFile, now: datetime) -> dict[str, object]:
    """Template params: money as integer minor units, dates as ISO strings; the gate writes them out."""
    rows = schedule(option, party.local_today(now) + timedelta(days=cfg.first_payment_days))
    return {
        "term_months": option.term_months, "monthly": option.monthly_minor, "last_amount": option.last_minor,
        "down_payment": option.down_payment_minor, "total": option.total_minor,
        "first_due": rows[0][1].isoformat(), "last_due": rows[-1][1].isoformat(),
        "discount_percent": option.settlement_discount_bp // 100,
        "balance": party.account.balance_minor if party.account else 0,
    }


def _option_template(option: PlanOption, prefix: str) -> str:
    if option.kind == "settlement":
        return f"{prefix}_settlement"
    return f"{prefix}_installments_down" if option.down_payment_minor else f"{prefix}_installments"


def offer(
    session: Session, party: Party, cfg: NegotiationFile, *, now: datetime, hardship_type: str | None,
    reason_text: str | None, affordable_text: str | None, affordable_minor: int | None = None,
) -> TurnOutcome:
    if not party.verified:
        return TurnOutcome(slots={"verified": False}).say("verify.required")
    if party.account is None:
        return TurnOutcome().say("account.nothing_due")
    propose_vulnerability(session, party, hardship_type, now=now)
    policy = cfg.policy()
    account = party.account
    if policy.needs_officer(account.balance_minor, account.currency):
        return hand_over(session, party, EscalationReason.BALANCE_THRESHOLD, now=now,
                         detail={"hardship_type": hardship_reason(hardship_type)})
    affordable = affordable_minor
    if affordable is None:
        affordable = extract_amount(affordable_text or "", party.language, account.currency)
    reason = hardship_reason(hardship_type)
    options = propose(policy, balance_minor=account.balance_minor, currency=account.currency, stage=account.stage,
                      reason=reason, affordable_monthly_minor=affordable)
    _cancel(_proposals(session, party))
    plans = [_store(session, party, option, now, "bot") for option in options]
    append_audit(session, kind="plan.offered", actor="bot", subject_type="account", subject_id=str(account.id),
                 payload={"plan_ids": [p.id for p in plans], "hardship_type": reason,
                          "affordable_minor": affordable, "policy_version": cfg.version}, at=now)
    outcome = TurnOutcome(slots={"plan_stage": "offered"}, data={"plan_ids": [p.id for p in plans]})
    outcome.say("plan.offer_intro")
    for n, option in enumerate(options, start=1):
        outcome.say(_option_template(option, "plan.option"), **_params("plan.option", option,
                                                                       _terms(party, option, cfg, now), n=n))
    if any(o.fees_waived or o.interest_waived for o in options):
        outcome.say("plan.waivers_interest" if options[0].interest_waived else "plan.waivers_fees")
    lowest = min((o.monthly_minor for o in options if o.kind == "installments"), default=None)
    if affordable and lowest is not None and 0 < affordable < lowest:
        # Policy sets a floor; say so plainly rather than let three unaffordable offers speak for themselves.
        outcome.say("plan.budget_short", budget=affordable, lowest=lowest)
    return outcome.say("plan.choose")


def _pick(text: str, language: str, plans: list[InstallmentPlan]) -> InstallmentPlan | None:
    if len(plans) == 1:
        return plans[0]
    norm = normalise(text, language)
    if match := _ORDINAL.search(norm):
        word = next(g for g in match.groups() if g)
        index = _ORDINALS.get(word.lower())
        if index and index <= len(plans):
            return plans[index - 1]
    if _SETTLE.search(norm):
        return next((p for p in plans if p.settlement_discount_bp), None)
    months = extract_months(text, language)
    if months:
        return next((p for p in plans if p.term_months == months), None)
    if _CHEAPEST.search(norm):
        return min(plans, key=lambda p: p.monthly_minor)
    return None


def select_option(session: Session, party: Party, cfg: NegotiationFile, *, now: datetime, text: str) -> TurnOutcome:
    plans = _proposals(session, party)
    if not plans:
        return TurnOutcome(slots={"plan_stage": None}).say("dialogue.how_can_help")
    chosen = _pick(text, party.language, plans)
    if chosen is None:
        return TurnOutcome(slots={"plan_stage": "offered"}).say("plan.choose_which", count=len(plans))
    _cancel([p for p in plans if p.id != chosen.id])
    return _read_back(party, chosen, cfg, now)


def _read_back(party: Party, plan: InstallmentPlan, cfg: NegotiationFile, now: datetime) -> TurnOutcome:
    option = _as_option(plan)
    outcome = TurnOutcome(slots={"plan_stage": "read_back"}, data={"plan_id": plan.id})
    return outcome.say(_option_template(option, "plan.read_back"),
                       **_params("plan.read_back", option, _terms(party, option, cfg, now)))


# The params each template names (the gate refuses unknown or missing ones, so send exactly these).
_TEMPLATE_PARAMS = {
    "plan.option_installments": ("term_months", "monthly", "last_amount", "first_due"),
    "plan.option_installments_down": ("term_months", "monthly", "last_amount", "first_due", "down_payment"),
    "plan.option_settlement": ("total", "first_due", "discount_percent", "balance"),
    "plan.read_back_installments": ("term_months", "monthly", "last_amount", "first_due", "last_due", "total"),
    "plan.read_back_installments_down": ("term_months", "monthly", "last_amount", "first_due", "last_due", "total",
                                         "down_payment"),
    "plan.read_back_settlement": ("total", "first_due"),
}


def _params(prefix: str, option: PlanOption, terms: dict[str, object], **extra: object) -> dict[str, object]:
    names = _TEMPLATE_PARAMS[_option_template(option, prefix)]
    return {**{name: terms[name] for name in names}, **extra}


def confirm(session: Session, party: Party, cfg: NegotiationFile, *, now: datetime) -> TurnOutcome:
    plans = _proposals(session, party)
    if len(plans) != 1 or party.account is None:
        # Nothing (or more than one option) is waiting for a yes: ask which, never guess.
        return select_option(session, party, cfg, now=now, text="")
    plan = plans[0]
    option = _as_option(plan)
    first_due = party.local_today(now) + timedelta(days=cfg.first_payment_days)
    rows = schedule(option, first_due)
    plan.status = PlanStatus.ACTIVE.value
    plan.accepted_at = now
    for seq, due, amount in rows:
        session.add(Installment(plan_id=plan.id, seq=seq, due_date=due, amount_minor=amount, status="scheduled"))
    party.account.reminders_paused_reason = "installment_plan"
    party.account.updated_at = now
    terms = _terms(party, option, cfg, now)
    session.add(OutboxItem(
        idempotency_key=f"plan-confirmation:{plan.id}", cardholder_id=party.cardholder.id,
        account_id=party.account.id, conversation_id=party.conversation.id,
        contact_point_id=party.contact_point.id, channel=party.contact_point.channel,
        purpose=MessagePurpose.PLAN_CONFIRMATION.value, template_id="plan.confirmation",
        # Sent later through the outbox like other scheduled messages: in the profile language, not the turn's.
        language=party.profile_language, priority=20,
        params={"term_months": plan.term_months, "monthly_amount": plan.monthly_minor,
                "first_due_date": rows[0][1].isoformat(), "plan_total": plan.total_minor},
        not_before=now, status="queued", created_at=now, updated_at=now,
    ))
    append_audit(session, kind="plan.accepted", actor="cardholder", subject_type="installment_plan",
                 subject_id=str(plan.id),
                 payload={"account_id": party.account.id, "term_months": plan.term_months,
                          "monthly_minor": plan.monthly_minor, "total_minor": plan.total_minor,
                          "installments": len(rows), "policy_version": cfg.version}, at=now)
    outcome = TurnOutcome(slots={"plan_stage": "confirmed"}, data={"plan_id": plan.id})
    return outcome.say("plan.confirmed", first_due=terms["first_due"], plan_ref=f"P{plan.id:06d}")


def reject(session: Session, party: Party, *, now: datetime) -> TurnOutcome:
    return TurnOutcome(slots={"plan_stage": "offered"}).say("plan.rejected")


def counter_offer(session: Session, party: Party, cfg: NegotiationFile, *, now: datetime, text: str) -> TurnOutcome:
    if party.account is None:
        return TurnOutcome().say("account.nothing_due")
    account = party.account
    monthly = extract_amount(text, party.language, account.currency)
    months = extract_months(text, party.language)
    if monthly is None and months is None:
        plans = _proposals(session, party)
        return TurnOutcome(slots={"plan_stage": "offered"}).say("plan.choose_which", count=len(plans))
    verdict = evaluate_counter_offer(
        cfg.policy(), balance_minor=account.balance_minor, currency=account.currency, stage=account.stage,
        reason=None, monthly_minor=monthly, term_months=months,
    )
    if not verdict.accepted or verdict.option is None:
        _cancel(_proposals(session, party))
        escalation = escalate(
            session, party, EscalationReason.OFFER_OUTSIDE_POLICY, now=now,
            detail={"proposal": {"monthly_minor": monthly, "term_months": months, "currency": account.currency},
                    "reasons": list(verdict.reasons), "policy_version": cfg.version},
        )
        return TurnOutcome(pause=True, slots={"plan_stage": None},
                           data={"escalation_id": escalation.id}).say("plan.counter_referred")
    _cancel(_proposals(session, party))
    plan = _store(session, party, verdict.option, now, "cardholder")
    append_audit(session, kind="plan.counter_offer_accepted", actor="bot", subject_type="installment_plan",
                 subject_id=str(plan.id), payload={"monthly_minor": monthly, "term_months": months}, at=now)
    return _read_back(party, plan, cfg, now)
