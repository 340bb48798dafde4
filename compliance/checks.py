"""Who may be contacted, when, and how often: one pure function per rule, each returning a Check.

Every condition sits on its own line, so test coverage shows each branch ran. A check that does not apply
(e.g. the account state for a bot reply) returns None and is left out of the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from compliance.contract import Check, SendRequest
from compliance.facts import Facts
from compliance.hours import blackout_reason, in_hours
from compliance.packs import Pack
from compliance.protection import StateFact, effect_for
from compliance.reasons import Reason
from core.enums import MessagePurpose, Stage
from core.protection import Effect, ProtectiveKind


@dataclass(frozen=True)
class Context:
    request: SendRequest
    pack: Pack
    facts: Facts
    tz: ZoneInfo | None
    language: str
    channel_available: bool

    def rule(self, name: str) -> str:
        return self.pack.rule(name)

    def passed(self, name: str, detail: str) -> Check:
        return Check(self.rule(name), True, detail)

    def failed(self, name: str, reason: str, detail: str) -> Check:
        return Check(self.rule(name), False, detail, str(reason))


def check_timezone(ctx: Context) -> Check:
    if ctx.tz is None:
        return ctx.failed("timezone", Reason.TIMEZONE_UNKNOWN, f"{ctx.facts.holder.timezone!r} is not a known IANA zone")
    return ctx.passed("timezone", f"{ctx.tz.key} is a known IANA zone")


def check_contact_point(ctx: Context) -> Check:
    point, conv, account = ctx.facts.point, ctx.facts.conversation, ctx.facts.account
    holder_id, channel = ctx.request.cardholder_id, ctx.request.channel.value
    if point is None:
        return ctx.failed("contact_point", Reason.NO_CONTACT_POINT, f"no {channel} address for this cardholder")
    if point.cardholder_id != holder_id or point.channel != channel:
        return ctx.failed("contact_point", Reason.CONTACT_POINT_MISMATCH, f"contact point {point.id} is not theirs on {channel}")
    if conv is not None and (conv.cardholder_id != holder_id or conv.channel != channel):
        return ctx.failed("contact_point", Reason.CONTACT_POINT_MISMATCH, f"conversation {conv.id} is not theirs on {channel}")
    if account is not None and account.cardholder_id != holder_id:
        return ctx.failed("contact_point", Reason.CONTACT_POINT_MISMATCH, f"account {account.external_id} is not theirs")
    if point.status == "invalid":
        return ctx.failed("contact_point", Reason.CONTACT_POINT_INVALID, f"address invalid: {point.status_reason or 'provider'}")
    return ctx.passed("contact_point", f"contact point {point.id} ({channel}, {point.status})")


def check_channel(ctx: Context) -> Check:
    if not ctx.channel_available:
        return ctx.failed("channel", Reason.CHANNEL_UNAVAILABLE, f"no adapter for {ctx.request.channel.value}")
    return ctx.passed("channel", f"{ctx.request.channel.value} adapter configured")


def check_protective_states(ctx: Context) -> Check:
    """The pack's matrix: each state in force on the person (or on this address) allows, limits or blocks the
    purpose. A channel opt-out is checked by check_opt_out, which also counts its single confirmation."""
    point_id = ctx.facts.point.id if ctx.facts.point is not None else None
    states = [s for s in ctx.facts.states if s.kind is not ProtectiveKind.CHANNEL_OPT_OUT and s.covers(point_id)]
    purpose = ctx.request.purpose
    if not states:
        return ctx.passed("protective_states", "no protective state in force")
    effect, deciding = effect_for(ctx.pack, states, purpose, point_id)
    names = ", ".join(f"{s.kind.value} since {s.set_at.isoformat()}" for s in states)
    if effect is Effect.BLOCK and deciding is not None:
        return ctx.failed("protective_states", f"{Reason.PROTECTIVE_STATE}:{deciding.kind.value}",
                          f"{names}; the pack blocks {purpose.value}")
    if effect is Effect.LIMITED and deciding is not None:
        return ctx.passed("protective_states", f"{names}; the pack allows {purpose.value} as limited content only")
    return ctx.passed("protective_states", f"{names}; the pack allows {purpose.value}")


def limited_by_state(ctx: Context) -> StateFact | None:
    """The state that restricts this message to limited content, if one does."""
    point_id = ctx.facts.point.id if ctx.facts.point is not None else None
    effect, deciding = effect_for(ctx.pack, ctx.facts.states, ctx.request.purpose, point_id)
    return deciding if effect is Effect.LIMITED else None


def check_cease(ctx: Context) -> Check | None:
    """After a cease (or stop-all-contact) request the pack allows so many acknowledgements, no more."""
    since = ctx.facts.cease_since
    if since is None or ctx.request.purpose is not MessagePurpose.CEASE_ACKNOWLEDGEMENT:
        return None
    if ctx.facts.cease_acknowledgements >= ctx.pack.cease.acknowledgements_allowed:
        return ctx.failed("cease", Reason.CEASE_ACKNOWLEDGED, f"{ctx.facts.cease_acknowledgements} acknowledgement(s) already sent")
    return ctx.passed("cease", f"asked to stop contact at {since.isoformat()}; the acknowledgement the pack allows")


def check_opt_out(ctx: Context) -> Check | None:
    point = ctx.facts.point
    purpose = ctx.request.purpose
    confirmation = MessagePurpose.OPT_OUT_CONFIRMATION
    if point is None:
        return None
    if point.opted_out_at is None and purpose is confirmation:
        return ctx.failed("opt_out", Reason.NOT_OPTED_OUT, "this address has not opted out")
    if point.opted_out_at is None:
        return ctx.passed("opt_out", "not opted out")
    since = f"opted out at {point.opted_out_at.isoformat()} ({point.opted_out_method or 'unknown method'})"
    if purpose is not confirmation and ctx.pack.effect(ProtectiveKind.CHANNEL_OPT_OUT, purpose) is Effect.ALLOW:
        return ctx.passed("opt_out", f"{since}; the pack allows {purpose.value} on an opted-out address")
    if purpose is not confirmation:
        return ctx.failed("opt_out", Reason.OPTED_OUT, since)
    if ctx.facts.opt_out_confirmations >= ctx.pack.opt_out.confirmations_allowed:
        return ctx.failed("opt_out", Reason.OPT_OUT_CONFIRMED, f"{since}; confirmation already sent")
    limit = ctx.pack.opt_out.confirmation_within_minutes
    if limit is not None and ctx.facts.now - point.opted_out_at > timedelta(minutes=limit):
        return ctx.failed("opt_out", Reason.OPT_OUT_CONFIRMATION_LATE, f"{since}; more than {limit} minutes ago")
    return ctx.passed("opt_out", f"{since}; the single confirmation the rules allow")


def check_consent(ctx: Context) -> Check | None:
    point = ctx.facts.point
    bases = ctx.pack.consent.required.get(ctx.request.channel)
    if point is None:
        return None
    if not bases:
        return ctx.passed("consent", f"no consent basis required on {ctx.request.channel.value}")
    if point.consent_basis in {b.value for b in bases}:
        return ctx.passed("consent", f"consent basis {point.consent_basis} recorded {_when(point.consent_at)}")
    return ctx.failed("consent", Reason.NO_CONSENT, f"consent basis {point.consent_basis or 'none'}; needs one of "
                      + ", ".join(b.value for b in bases))


def _when(at: object) -> str:
    return f"at {at.isoformat()}" if hasattr(at, "isoformat") else "(no date)"


def check_account(ctx: Context) -> Check | None:
    account = ctx.facts.account
    if ctx.request.purpose is not MessagePurpose.REMINDER:
        return None
    if account is None:
        return ctx.failed("account_state", Reason.NO_ACCOUNT, "a reminder needs an account")
    if account.reminders_paused_reason:
        return ctx.failed("account_state", f"{Reason.REMINDERS_PAUSED}:{account.reminders_paused_reason}",
                          f"reminders paused: {account.reminders_paused_reason}")
    if account.balance_minor <= 0 or account.minimum_due_minor <= 0 or account.stage in (Stage.CURRENT, Stage.SETTLED):
        return ctx.failed("account_state", Reason.NOTHING_DUE, f"stage {account.stage}, minimum due {account.minimum_due_minor}")
    return ctx.passed("account_state", f"stage {account.stage}, {account.days_past_due} days past due")


def is_recent_reply(ctx: Context, within: timedelta) -> bool:
    last = ctx.facts.last_inbound_at
    if ctx.request.purpose not in ctx.pack.frequency.replies.purposes:
        return False
    return last is not None and timedelta(0) <= ctx.facts.now - last <= within


def check_contact_hours(ctx: Context) -> Check | None:
    hours = ctx.pack.contact_hours
    window = f"{hours.start:%H:%M}-{hours.end:%H:%M}"
    if ctx.tz is None:
        return None
    local = ctx.facts.now.astimezone(ctx.tz)
    if ctx.request.purpose in hours.exempt_purposes:
        return ctx.passed("contact_hours", f"{ctx.request.purpose} is answered at any hour")
    if hours.reply_grace_minutes and is_recent_reply(ctx, timedelta(minutes=hours.reply_grace_minutes)):
        return ctx.passed("contact_hours", f"reply within {hours.reply_grace_minutes} min of the cardholder's message")
    if in_hours(local, hours):
        return ctx.passed("contact_hours", f"local time {local:%H:%M:%S} is within {window}")
    return ctx.failed("contact_hours", Reason.OUTSIDE_CONTACT_HOURS, f"local time {local:%H:%M:%S} is outside {window}")


def check_blackout(ctx: Context) -> Check | None:
    blackouts = ctx.pack.blackouts
    if ctx.tz is None:
        return None
    if not (blackouts.sundays or blackouts.public_holidays):
        return ctx.passed("blackout_days", "the pack has no blackout days")
    if ctx.request.purpose in blackouts.exempt_purposes:
        return ctx.passed("blackout_days", f"{ctx.request.purpose} is sent on any day")
    day = ctx.facts.now.astimezone(ctx.tz).date()
    reason = blackout_reason(day, blackouts)
    if reason is None:
        return ctx.passed("blackout_days", f"{day.isoformat()} is not a blackout day")
    return ctx.failed("blackout_days", Reason.BLACKOUT_DAY, f"{day.isoformat()}: {reason}")


def counts_toward_cap(ctx: Context) -> tuple[bool, str]:
    frequency = ctx.pack.frequency
    conv = ctx.facts.conversation
    if ctx.request.purpose in frequency.exempt_purposes:
        return False, f"{ctx.request.purpose} does not count toward the caps"
    if conv is None or not is_recent_reply(ctx, timedelta(hours=frequency.replies.window_hours)):
        return True, "a contact the bank initiates"
    mode = frequency.replies.cardholder_started if conv.cardholder_started else frequency.replies.bank_started
    started = "cardholder" if conv.cardholder_started else "bank"
    return mode == "count", f"reply in a {started}-started conversation: {mode}"


def check_frequency(ctx: Context) -> tuple[Check, dict[str, object], bool]:
    counted, why = counts_toward_cap(ctx)
    caps: dict[str, object] = {}
    over = []
    for cap in ctx.pack.frequency.caps:
        since = ctx.facts.now - timedelta(hours=cap.window_hours)
        used = sum(1 for at in ctx.facts.counted_sends if at > since)
        caps[cap.name] = {"count": used, "max": cap.max, "window_hours": cap.window_hours}
        if counted and used >= cap.max:
            over.append(f"{cap.name}: {used} of {cap.max} in {cap.window_hours} h")
    counters: dict[str, object] = {"caps": caps, "counts_toward_cap": counted, "counted_because": why}
    if over:
        first = over[0].split(":")[0]
        return ctx.failed("frequency_cap", f"{Reason.FREQUENCY_CAP}:{first}", "; ".join(over)), counters, counted
    summary = ", ".join(f"{n} {c['count']}/{c['max']}" for n, c in caps.items())  # type: ignore[index]
    return ctx.passed("frequency_cap", f"{why}; {summary}"), counters, counted
