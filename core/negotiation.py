"""Negotiation within policy: the options a bot may offer and the counter-offers it may accept on its own.

Pure functions over integer minor units. The limits come from `config/negotiation.yaml` (see
`accord/dialogue/negotiation_config.py`); anything outside them goes to an officer, never to the bot's judgement.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date

from core.enums import Stage

BP = 10_000  # basis points in one whole


@dataclass(frozen=True, slots=True)
class StageLimits:
    max_term_months: int
    down_payment_bp: int = 0  # share of the balance due up front
    fee_waiver: bool = False
    interest_waiver: bool = False
    settlement_discount_cap_bp: int = 0  # only honoured at 90+ days past due


@dataclass(frozen=True, slots=True)
class NegotiationPolicy:
    stages: dict[str, StageLimits]
    min_monthly_minor: dict[str, int]  # per currency
    waiver_reasons: frozenset[str]  # hardship reasons that earn the stage's fee / interest waivers
    officer_balance_minor: dict[str, int]  # per currency: above this an officer negotiates

    def limits(self, stage: str) -> StageLimits:
        if stage in self.stages:
            return self.stages[stage]
        # Not yet delinquent (or unknown): the most conservative stage applies.
        return min(self.stages.values(), key=lambda s: s.max_term_months)

    def min_monthly(self, currency: str) -> int:
        return self.min_monthly_minor.get(currency, 1)

    def needs_officer(self, balance_minor: int, currency: str) -> bool:
        threshold = self.officer_balance_minor.get(currency)
        return threshold is not None and balance_minor > threshold


@dataclass(frozen=True, slots=True)
class PlanOption:
    kind: str  # "installments" | "settlement"
    term_months: int
    total_minor: int  # what the cardholder pays in all
    down_payment_minor: int
    monthly_minor: int
    last_minor: int  # the final installment absorbs the rounding
    fees_waived: bool = False
    interest_waived: bool = False
    settlement_discount_bp: int = 0


@dataclass(frozen=True, slots=True)
class CounterOfferVerdict:
    accepted: bool
    option: PlanOption | None
    reasons: tuple[str, ...]  # why it falls outside policy, e.g. ("term_above_max",)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _installments(
    balance: int, term: int, limits: StageLimits, waivers: tuple[bool, bool], min_monthly: int
) -> PlanOption:
    down = _ceil_div(balance * limits.down_payment_bp, BP)
    remaining = balance - down
    monthly = max(_ceil_div(remaining, term), min(min_monthly, remaining))
    term = max(1, _ceil_div(remaining, monthly)) if monthly else 1
    last = remaining - monthly * (term - 1)
    return PlanOption(
        kind="installments", term_months=term, total_minor=balance, down_payment_minor=down,
        monthly_minor=monthly, last_minor=last, fees_waived=waivers[0], interest_waived=waivers[1],
    )


def _waivers(limits: StageLimits, reason: str | None, policy: NegotiationPolicy) -> tuple[bool, bool]:
    earned = reason is not None and reason in policy.waiver_reasons
    return (earned and limits.fee_waiver, earned and limits.interest_waiver)


def propose(
    policy: NegotiationPolicy,
    *,
    balance_minor: int,
    currency: str,
    stage: str,
    reason: str | None,
    affordable_monthly_minor: int | None,
) -> list[PlanOption]:
    """Two or three options inside the stage's limits, the one closest to what the cardholder can afford first."""
    if balance_minor <= 0:
        return []
    limits = policy.limits(stage)
    waivers = _waivers(limits, reason, policy)
    min_monthly = policy.min_monthly(currency)
    down = _ceil_div(balance_minor * limits.down_payment_bp, BP)
    remaining = balance_minor - down
    longest = _installments(balance_minor, limits.max_term_months, limits, waivers, min_monthly)

    candidates: list[PlanOption] = []
    if affordable_monthly_minor and affordable_monthly_minor > 0:
        # The shortest term whose monthly payment fits the budget, capped at the stage's maximum term.
        term = min(limits.max_term_months, max(1, _ceil_div(remaining, affordable_monthly_minor)))
        candidates.append(_installments(balance_minor, term, limits, waivers, min_monthly))
    candidates.append(longest)
    shorter_term = max(1, _ceil_div(candidates[0].term_months, 2))
    candidates.append(_installments(balance_minor, shorter_term, limits, waivers, min_monthly))
    if stage == Stage.DPD_90_PLUS and limits.settlement_discount_cap_bp > 0:
        discount = balance_minor * limits.settlement_discount_cap_bp // BP
        pay = balance_minor - discount
        candidates.insert(1, PlanOption(
            kind="settlement", term_months=1, total_minor=pay, down_payment_minor=0, monthly_minor=pay,
            last_minor=pay, fees_waived=waivers[0], interest_waived=waivers[1],
            settlement_discount_bp=limits.settlement_discount_cap_bp,
        ))

    options: list[PlanOption] = []
    seen: set[tuple[str, int, int]] = set()
    for option in candidates:
        key = (option.kind, option.term_months, option.monthly_minor)
        if key not in seen:
            seen.add(key)
            options.append(option)
    return options[:3]


def evaluate_counter_offer(
    policy: NegotiationPolicy,
    *,
    balance_minor: int,
    currency: str,
    stage: str,
    reason: str | None,
    monthly_minor: int | None,
    term_months: int | None,
) -> CounterOfferVerdict:
    """Accept a cardholder's own proposal when it sits inside the stage's limits; otherwise say why not."""
    limits = policy.limits(stage)
    down = _ceil_div(balance_minor * limits.down_payment_bp, BP)
    remaining = balance_minor - down
    if monthly_minor is None and term_months is None:
        return CounterOfferVerdict(False, None, ("no_terms_given",))
    if term_months is None:
        assert monthly_minor is not None
        if monthly_minor <= 0:
            return CounterOfferVerdict(False, None, ("monthly_not_positive",))
        term_months = max(1, _ceil_div(remaining, monthly_minor))
    if monthly_minor is None:
        monthly_minor = _ceil_div(remaining, max(term_months, 1))
    reasons = []
    if term_months < 1:
        reasons.append("term_not_positive")
    if term_months > limits.max_term_months:
        reasons.append("term_above_max")
    if monthly_minor < min(policy.min_monthly(currency), remaining):
        reasons.append("monthly_below_min")
    if monthly_minor * term_months < remaining:
        reasons.append("does_not_cover_balance")
    if reasons:
        return CounterOfferVerdict(False, None, tuple(reasons))
    option = _installments(balance_minor, term_months, limits, _waivers(limits, reason, policy), 1)
    if option.monthly_minor < monthly_minor:
        # The cardholder offered more per month than needed for that term: honour their figure.
        term = max(1, _ceil_div(remaining, monthly_minor))
        option = replace(option, term_months=term, monthly_minor=monthly_minor,
                         last_minor=remaining - monthly_minor * (term - 1))
    return CounterOfferVerdict(True, option, ())


def add_months(start: date, months: int) -> date:
    """Same day of month `months` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def schedule(option: PlanOption, first_due: date) -> list[tuple[int, date, int]]:
    """(seq, due date, amount) rows: seq 0 is the down payment when there is one, then monthly installments."""
    rows: list[tuple[int, date, int]] = []
    start = first_due
    if option.down_payment_minor > 0:
        rows.append((0, first_due, option.down_payment_minor))
        start = add_months(first_due, 1)
    for i in range(option.term_months):
        amount = option.last_minor if i == option.term_months - 1 else option.monthly_minor
        rows.append((i + 1, add_months(start, i), amount))
    return rows
