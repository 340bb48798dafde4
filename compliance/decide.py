"""Run every check and turn them into one decision: allow, defer (only the clock is in the way) or block."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from compliance.catalog import Catalog, Template
from compliance.checks import (
    Context,
    check_account,
    check_blackout,
    check_cease,
    check_channel,
    check_consent,
    check_contact_hours,
    check_contact_point,
    check_frequency,
    check_opt_out,
    check_protective_states,
    check_timezone,
)
from compliance.compose import Composed
from compliance.content import evaluate_content
from compliance.contract import Check, Decision
from compliance.facts import Facts
from compliance.hours import describe_local, next_allowed
from compliance.reasons import TIME_ONLY, Reason
from core.enums import DecisionOutcome


@dataclass(frozen=True)
class Evaluation:
    decision: Decision
    counted: bool  # the message counts toward the caps if it goes out
    template: Template | None
    composed: Composed | None
    facts: Facts | None = None

    @property
    def first_disclosure(self) -> bool:
        return self.composed is not None and self.composed.first_disclosure


def evaluate(ctx: Context, catalog: Catalog) -> Evaluation:
    checks: list[Check | None] = []
    checks.append(check_timezone(ctx))
    checks.append(check_contact_point(ctx))
    checks.append(check_channel(ctx))
    checks.append(check_protective_states(ctx))
    checks.append(check_cease(ctx))
    checks.append(check_opt_out(ctx))
    checks.append(check_consent(ctx))
    checks.append(check_account(ctx))
    checks.append(check_contact_hours(ctx))
    checks.append(check_blackout(ctx))
    frequency, counters, counted = check_frequency(ctx)
    checks.append(frequency)
    content = evaluate_content(ctx, catalog)
    checks.extend(content.checks)
    done = tuple(c for c in checks if c is not None)
    counters.update(_ledger_counters(ctx))
    if content.parts:  # a message of several parts names every template it holds, in order
        counters["parts"] = content.parts
    decision = _decide(ctx, done, counters, content.template, content.composed)
    return Evaluation(decision, counted, content.template, content.composed, ctx.facts)


def _ledger_counters(ctx: Context) -> dict[str, Any]:
    facts = ctx.facts
    counters: dict[str, Any] = {
        "contacts_total": facts.contacts_total,
        "last_contact_at": facts.last_contact_at.isoformat() if facts.last_contact_at else None,
    }
    if facts.point is not None and facts.point.opted_out_at is not None:
        counters["opt_out_confirmations_sent"] = facts.opt_out_confirmations
    if facts.cease_since is not None:
        counters["cease_acknowledgements_sent"] = facts.cease_acknowledgements
    return counters


def _decide(ctx: Context, checks: tuple[Check, ...], counters: dict[str, Any], template: Template | None,
            composed: Composed | None) -> Decision:
    failed = [c for c in checks if not c.passed]
    blocking = [c for c in failed if c.reason not in TIME_ONLY]
    defer_until = None
    if failed and not blocking and ctx.tz is not None:
        blackouts = None if ctx.request.purpose in ctx.pack.blackouts.exempt_purposes else ctx.pack.blackouts
        defer_until = next_allowed(ctx.facts.now, ctx.tz, ctx.pack.contact_hours, blackouts)
        if defer_until is None:
            blocking = [ctx.failed("contact_hours", Reason.NO_ALLOWED_TIME, "no allowed time within a year")]
            checks = (*checks, blocking[0])
    if blocking:
        outcome, deciding = DecisionOutcome.BLOCK, blocking[0]
        defer_until = None
    elif failed:
        outcome, deciding = DecisionOutcome.DEFER, failed[0]
    else:
        outcome, deciding = DecisionOutcome.ALLOW, None
    reasons = tuple(dict.fromkeys(str(c.reason) for c in (blocking or failed)))
    if defer_until is not None and ctx.tz is not None:
        counters["defer_until_local"] = describe_local(defer_until, ctx.tz)
    return Decision(
        outcome=outcome,
        reasons=reasons,
        checks=checks,
        policy_pack=ctx.pack.pack.value,
        policy_version=ctx.pack.version,
        counters=counters,
        timezone=ctx.tz.key if ctx.tz is not None else ctx.facts.holder.timezone or None,
        local_time=describe_local(ctx.facts.now, ctx.tz) if ctx.tz is not None else None,
        defer_until=defer_until,
        rule=deciding.rule if deciding else None,
        text=composed.text if composed else None,
        template_version=template.version if template else None,
        language=ctx.language,
    )
