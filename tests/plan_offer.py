"""A plan offer's replies as accord.dialogue.plans.offer composes them (intro, each option, waivers, budget note,
question), from the real negotiation policy, for tests of how a turn's replies leave."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from accord.dialogue.config import load_negotiation
from core.negotiation import PlanOption, propose, schedule

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"

# The params each option template names (as accord/dialogue/plans.py sends them).
_OPTION_PARAMS = {
    "plan.option_installments": ("term_months", "monthly", "last_amount", "first_due"),
    "plan.option_installments_down": ("term_months", "monthly", "last_amount", "first_due", "down_payment"),
    "plan.option_settlement": ("total", "first_due", "discount_percent", "balance"),
}


def _option_template(option: PlanOption) -> str:
    if option.kind == "settlement":
        return "plan.option_settlement"
    return "plan.option_installments_down" if option.down_payment_minor else "plan.option_installments"


def plan_offer(*, balance_minor: int, currency: str, stage: str, affordable_minor: int | None,
               today: date = date(2026, 11, 23)) -> list[tuple[str, dict[str, object]]]:
    """(template id, params) of each reply of the offer, in order."""
    cfg = load_negotiation(CONFIG_DIR)
    options = propose(cfg.policy(), balance_minor=balance_minor, currency=currency, stage=stage, reason="job_loss",
                      affordable_monthly_minor=affordable_minor)
    replies: list[tuple[str, dict[str, object]]] = [("plan.offer_intro", {})]
    for n, option in enumerate(options, start=1):
        rows = schedule(option, today + timedelta(days=cfg.first_payment_days))
        terms: dict[str, object] = {
            "term_months": option.term_months, "monthly": option.monthly_minor, "last_amount": option.last_minor,
            "down_payment": option.down_payment_minor, "total": option.total_minor,
            "first_due": rows[0][1].isoformat(), "discount_percent": option.settlement_discount_bp // 100,
            "balance": balance_minor,
        }
        template = _option_template(option)
        replies.append((template, {**{name: terms[name] for name in _OPTION_PARAMS[template]}, "n": n}))
    if any(o.fees_waived or o.interest_waived for o in options):
        replies.append(("plan.waivers_interest" if options[0].interest_waived else "plan.waivers_fees", {}))
    lowest = min((o.monthly_minor for o in options if o.kind == "installments"), default=None)
    if affordable_minor and lowest is not None and 0 < affordable_minor < lowest:
        replies.append(("plan.budget_short", {"budget": affordable_minor, "lowest": lowest}))
    replies.append(("plan.choose", {}))
    return replies
