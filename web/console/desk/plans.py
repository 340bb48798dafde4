"""Officer plan proposals, checked against the officer's role limits (config/console.yaml) and the bank-wide
rules of config/negotiation.yaml.

A plan inside the proposer's limits is offered at once (status `proposed`); one beyond them waits as
`pending_approval` until a supervisor approves it. Amounts are integer minor units throughout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.enums import InstallmentStatus, PlanStatus, Stage
from core.negotiation import NegotiationPolicy, PlanOption
from core.negotiation import schedule as negotiation_schedule
from storage.tables import Account, Installment, InstallmentPlan
from web.console.config import PlanLimits


class PlanError(ValueError):
    """The proposal cannot be made at all (bad numbers); the message says which."""


@dataclass(frozen=True)
class PlanTerms:
    term_months: int
    down_payment_minor: int = 0
    settlement_discount_bp: int = 0
    fees_waived: bool = False
    interest_waived: bool = False


def beyond_limits(terms: PlanTerms, limits: PlanLimits) -> list[str]:
    """Each way the terms exceed the role's limits, in words a supervisor reads on the approval page."""
    why = []
    if terms.term_months > limits.max_term_months:
        why.append(f"term {terms.term_months} > {limits.max_term_months} months")
    if terms.settlement_discount_bp > limits.max_settlement_discount_bp:
        why.append(f"discount {terms.settlement_discount_bp} > {limits.max_settlement_discount_bp} bp")
    if terms.fees_waived and not limits.may_waive_fees:
        why.append("fee waiver")
    if terms.interest_waived and not limits.may_waive_interest:
        why.append("interest waiver")
    return why


def plan_amounts(balance_minor: int, terms: PlanTerms) -> tuple[int, int]:
    """(total, monthly): the discount comes off the balance, the down payment off the total, then the rest is
    split evenly with the remainder on the last installment (see `schedule`)."""
    if terms.term_months < 1:
        raise PlanError("term must be at least 1 month")
    if not 0 <= terms.settlement_discount_bp < 10000:
        raise PlanError("settlement discount must be between 0 and 9999 basis points")
    if terms.down_payment_minor < 0:
        raise PlanError("down payment cannot be negative")
    total = balance_minor - balance_minor * terms.settlement_discount_bp // 10000
    if terms.down_payment_minor > total:
        raise PlanError("down payment is larger than the amount owed")
    return total, (total - terms.down_payment_minor) // terms.term_months


def against_policy(account: Account, terms: PlanTerms, monthly: int, policy: NegotiationPolicy | None) -> list[str]:
    """The bank-wide rules of config/negotiation.yaml that bind officers too: no settlement discount before 90
    days past due, and no installment below the currency's minimum. Breaking them needs a supervisor."""
    if policy is None:
        return []
    why = []
    if terms.settlement_discount_bp and account.stage != Stage.DPD_90_PLUS:
        why.append(f"settlement discount at {account.stage} (only at {Stage.DPD_90_PLUS.value})")
    minimum = policy.min_monthly(account.currency)
    if monthly < minimum:
        why.append(f"monthly {monthly} below the minimum {minimum} (minor units)")
    return why


def propose(s: Session, account: Account, conversation_id: int | None, terms: PlanTerms, proposer: str,
            limits: PlanLimits, now: datetime,
            policy: NegotiationPolicy | None = None) -> tuple[InstallmentPlan, list[str]]:
    total, monthly = plan_amounts(account.balance_minor, terms)
    why = beyond_limits(terms, limits) + against_policy(account, terms, monthly, policy)
    plan = InstallmentPlan(
        account_id=account.id, conversation_id=conversation_id,
        status=PlanStatus.PENDING_APPROVAL if why else PlanStatus.PROPOSED,
        term_months=terms.term_months, total_minor=total, down_payment_minor=terms.down_payment_minor,
        monthly_minor=monthly, fees_waived=terms.fees_waived, interest_waived=terms.interest_waived,
        settlement_discount_bp=terms.settlement_discount_bp, proposed_by=proposer, created_at=now,
    )
    s.add(plan)
    s.flush()
    return plan, why


def pending(s: Session) -> list[InstallmentPlan]:
    return list(s.scalars(select(InstallmentPlan).where(InstallmentPlan.status == PlanStatus.PENDING_APPROVAL)
                          .order_by(InstallmentPlan.created_at)))


def decide(s: Session, plan_id: int, supervisor: str, approve: bool) -> InstallmentPlan | None:
    plan = s.get(InstallmentPlan, plan_id, with_for_update=True)
    if plan is None or plan.status != PlanStatus.PENDING_APPROVAL:
        return None
    plan.status = PlanStatus.PROPOSED if approve else PlanStatus.CANCELLED
    plan.approved_by = supervisor if approve else None
    return plan


def schedule(plan: InstallmentPlan, first_due: date) -> list[Installment]:
    """The same schedule the bot records (core.negotiation): a down payment first when there is one, then monthly
    installments with the rounding remainder on the last, so the sum is exact."""
    remaining = plan.total_minor - plan.down_payment_minor
    option = PlanOption(kind="settlement" if plan.settlement_discount_bp else "installments",
                        term_months=plan.term_months, total_minor=plan.total_minor,
                        down_payment_minor=plan.down_payment_minor, monthly_minor=plan.monthly_minor,
                        last_minor=remaining - plan.monthly_minor * (plan.term_months - 1))
    return [Installment(plan_id=plan.id, seq=seq, due_date=due, amount_minor=amount,
                        status=InstallmentStatus.SCHEDULED)
            for seq, due, amount in negotiation_schedule(option, first_due)]


def accept(s: Session, plan_id: int, account_ids: list[int], first_due: date, now: datetime) -> InstallmentPlan:
    plan = s.get(InstallmentPlan, plan_id, with_for_update=True)
    if plan is None or plan.account_id not in account_ids:
        raise PlanError(f"plan {plan_id} does not belong to this case")
    if plan.status != PlanStatus.PROPOSED:
        raise PlanError(f"plan {plan_id} is {plan.status}, only a proposed plan can be accepted")
    plan.status, plan.accepted_at = PlanStatus.ACTIVE, now
    s.add_all(schedule(plan, first_due))
    return plan
