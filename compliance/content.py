"""What may be said: template choice and approval, right-party privacy, wording lint, required elements, length.

The text checked here is the exact text that would leave, after the pack's elements are added.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from compliance.catalog import Catalog, Template
from compliance.checks import Context, limited_by_state
from compliance.compose import Composed, compose, join_sentences, missing_elements, required_elements
from compliance.contract import Check
from compliance.formatting import RenderError
from compliance.reasons import Reason
from compliance.right_party import right_party_of
from compliance.sms import sms_length
from core.enums import Channel, MessagePurpose
from core.money import Money
from core.protection import ProtectiveKind


@dataclass
class Content:
    checks: list[Check] = field(default_factory=list)
    template: Template | None = None
    composed: Composed | None = None
    # A message of several parts (SendRequest.extra_parts): the templates rendered so far, in order, and every
    # part as the decision records it ({"template_id", "version"}; version None for a part that did not render).
    templates: list[Template] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)


def right_party(ctx: Context) -> tuple[bool, str]:
    """Whether the person on the channel is known to be the cardholder, and how it is known. A protective state
    whose matrix cell is "limited" (a third party on the address) overrides every way of knowing it."""
    limiting = limited_by_state(ctx)
    if limiting is not None:
        return False, f"{limiting.kind.value} in force since {limiting.set_at.isoformat()}: limited content only"
    party = right_party_of(ctx.facts.conversation, ctx.facts.point,
                           registered_phone_counts=ctx.pack.privacy.registered_phone_counts_as_verified)
    return party.confirmed, party.how


def _not_confirmed_reason(ctx: Context) -> str:
    limiting = limited_by_state(ctx)
    if limiting is not None and limiting.kind is not ProtectiveKind.THIRD_PARTY:
        return f"{Reason.PROTECTIVE_STATE}:{limiting.kind.value}"
    if limiting is not None:
        return str(Reason.THIRD_PARTY)
    third_party = bool(ctx.facts.conversation and ctx.facts.conversation.third_party)
    return str(Reason.THIRD_PARTY if third_party else Reason.NOT_VERIFIED)


def template_params(ctx: Context, catalog: Catalog) -> dict[str, Any]:
    """Placeholders from the institution, the pack and the account, then the caller's (which win).

    A caller's `<name>_minor` integer becomes money `<name>` in the given or the account's currency.
    """
    params: dict[str, Any] = {**catalog.base_params(ctx.language), **ctx.pack.template_params(ctx.language)}
    account = ctx.facts.account
    if account is not None:
        # The account number's last four, never the card digits used as a verification secret.
        params["account_last4"] = "".join(ch for ch in account.external_id if ch.isalnum())[-4:]
        params["amount_due"] = Money(account.minimum_due_minor, account.currency)
        params["balance"] = Money(account.balance_minor, account.currency)
        params["due_date"] = account.due_date
        params["days_past_due"] = max(account.days_past_due, 0)
    given = ctx.request.params
    currency = given.get("currency") or (account.currency if account else None)
    for name, value in given.items():
        if name.endswith("_minor") and isinstance(value, int) and not isinstance(value, bool) and currency:
            params[name[: -len("_minor")]] = Money(value, str(currency))
        else:
            params[name] = value
    return params


def evaluate_content(ctx: Context, catalog: Catalog) -> Content:
    content = Content()
    body = _free_text(ctx, content) if ctx.request.free_text is not None else (
        _parts_text(ctx, catalog, content) if ctx.request.extra_parts else _template_text(ctx, catalog, content))
    if body is None:
        return content
    carries_details = content.template is None or not content.template.limited_content
    if len(content.templates) > 1:  # a message of several parts carries account details if any part does
        carries_details = not all(template.limited_content for template in content.templates)
    params = template_params(ctx, catalog)
    try:
        elements, first = required_elements(
            ctx.pack, catalog, language=ctx.language, channel=ctx.request.channel, purpose=ctx.request.purpose,
            carries_details=carries_details, first_communication=ctx.facts.first_disclosure_at is None, params=params,
        )
    except (LookupError, RenderError) as exc:
        content.checks.append(ctx.failed("required_elements", Reason.REQUIRED_ELEMENT, str(exc)))
        return content
    composed = compose(body, elements, language=ctx.language, first_disclosure=first)
    content.composed = composed
    content.checks.append(_wording(ctx, catalog, composed.text))
    if not carries_details:
        content.checks.append(_limited(ctx, catalog, composed.text))
    content.checks.append(_elements(ctx, composed))
    content.checks.append(_length(ctx, composed.text))
    return content


def _free_text(ctx: Context, content: Content) -> str | None:
    request = ctx.request
    if request.purpose is not MessagePurpose.OFFICER_REPLY or not request.author.startswith("officer:"):
        content.checks.append(ctx.failed("template", Reason.FREE_TEXT_NOT_ALLOWED, f"author {request.author}"))
        return None
    confirmed, how = right_party(ctx)
    if not confirmed:
        content.checks.append(ctx.failed("privacy", _not_confirmed_reason(ctx),
                                         f"officer free text needs a verified cardholder: {how}"))
        return None
    content.checks.append(ctx.passed("privacy", f"officer free text to the cardholder: {how}"))
    return (request.free_text or "").strip()


def _template_text(ctx: Context, catalog: Catalog, content: Content) -> str | None:
    request = ctx.request
    template = catalog.get(request.template_id, ctx.language)
    if template is None:
        content.checks.append(ctx.failed("template", Reason.TEMPLATE_UNKNOWN, f"{request.template_id} ({ctx.language})"))
        return None
    if template.kind != "message" or request.purpose not in template.purposes:
        content.checks.append(ctx.failed("template", Reason.TEMPLATE_PURPOSE, f"{template.id} does not serve {request.purpose}"))
        return None
    template = _privacy(ctx, catalog, template, content)
    if template is None:
        return None
    content.template = template
    if not template.approved:
        content.checks.append(ctx.failed("template", Reason.TEMPLATE_NOT_APPROVED, f"{template.id} v{template.version} is {template.status}"))
        return None
    content.checks.append(ctx.passed("template", f"{template.id} v{template.version} ({template.language}) approved by {template.approver} on {template.approved_at}"))
    try:
        return catalog.render(template, template_params(ctx, catalog), _currency(ctx))
    except RenderError as exc:
        content.checks.append(ctx.failed("template_params", Reason.TEMPLATE_PARAMS, str(exc)))
        return None


def _parts_text(ctx: Context, catalog: Catalog, content: Content) -> str | None:
    """A message of several parts: each part is checked and rendered by the one-template rules (known, serves the
    purpose, privacy, approved, its params), then the parts are joined in order. The pack's elements, the lint and
    the length are checked by the caller, once, on the joined text.

    A part that carries account details to a person not known to be the cardholder blocks the whole message; its
    limited alternative is not swapped in. An alternative is written to stand alone as the whole message ("who is
    writing, please reply"): inside a message it would sit beside other parts, repeat where two parts share one, and
    the message would no longer be the turn the dialogue composed. A blocked turn is recorded like any block."""
    request, parts = ctx.request, ctx.request.parts
    content.parts = [{"template_id": part.template_id, "version": None} for part in parts]
    bodies: list[str] = []
    for n, part in enumerate(parts):
        label = f"part {n + 1} of {len(parts)}"
        one = replace(ctx, request=replace(request, template_id=part.template_id, params=part.params, extra_parts=()))
        found = Content()
        body = _template_text(one, catalog, found)
        content.checks.extend(replace(check, detail=f"{label}: {check.detail}") for check in found.checks)
        if body is not None and found.template is not None and found.template.id != part.template_id:
            _, how = right_party(ctx)
            content.checks.append(ctx.failed(
                "privacy", _not_confirmed_reason(ctx),
                f"{label}: {part.template_id} carries account details; {how}; a message of several parts is blocked "
                f"whole rather than sent with the limited {found.template.id} inside it"))
            content.template = content.templates[0] if content.templates else None
            return None
        if body is None or found.template is None:
            content.template = content.templates[0] if content.templates else None
            return None
        content.templates.append(found.template)
        content.parts[n]["version"] = found.template.version
        bodies.append(body)
    content.template = content.templates[0]
    return join_sentences(bodies, ctx.language)


def _privacy(ctx: Context, catalog: Catalog, template: Template, content: Content) -> Template | None:
    confirmed, how = right_party(ctx)
    if template.limited_content:
        content.checks.append(ctx.passed("privacy", f"limited content, fit for anyone on the channel ({how})"))
        return template
    if confirmed:
        content.checks.append(ctx.passed("privacy", f"account details to the cardholder: {how}"))
        return template
    alternative = catalog.get(template.limited_alternative, ctx.language) if template.limited_alternative else None
    if alternative is not None and ctx.request.purpose in alternative.purposes and alternative.limited_content:
        content.checks.append(ctx.passed("privacy", f"{how}: sending the limited-content {alternative.id} instead of {template.id}"))
        return alternative
    content.checks.append(ctx.failed("privacy", _not_confirmed_reason(ctx), f"{template.id} carries account details; {how}"))
    return None


def _currency(ctx: Context) -> str | None:
    given = ctx.request.params.get("currency")
    if isinstance(given, str):
        return given
    return ctx.facts.account.currency if ctx.facts.account else None


def _wording(ctx: Context, catalog: Catalog, text: str) -> Check:
    findings = catalog.linter.lint(text, ctx.language)
    if not findings:
        return ctx.passed("wording", f"no forbidden wording ({ctx.language} lint {catalog.linter.version})")
    return ctx.failed("wording", f"{Reason.LINT}:{findings[0].category}", "; ".join(f.describe() for f in findings))


def _limited(ctx: Context, catalog: Catalog, text: str) -> Check:
    findings = catalog.linter.lint_limited(text, ctx.language)
    if not findings:
        return ctx.passed("limited_content", "no amount, account or word for a debt")
    return ctx.failed("limited_content", f"{Reason.LINT}:limited_content", "; ".join(f.describe() for f in findings))


def _elements(ctx: Context, composed: Composed) -> Check:
    missing = missing_elements(composed.text, composed.required)
    names = ", ".join(e.name for e in composed.required) or "none"
    if missing:
        return ctx.failed("required_elements", f"{Reason.REQUIRED_ELEMENT}:{missing[0]}", f"missing {', '.join(missing)}")
    added = f"; added {', '.join(composed.added)}" if composed.added else ""
    return ctx.passed("required_elements", f"present: {names}{added}")


def _length(ctx: Context, text: str) -> Check:
    limits = ctx.pack.channels
    if ctx.request.channel is Channel.SMS:
        length = sms_length(text)
        detail = f"{length.segments} SMS segment(s), {length.units} {length.encoding} units; limit {limits.sms.max_segments}"
        if length.segments > limits.sms.max_segments:
            return ctx.failed("length", Reason.TOO_LONG, detail)
        return ctx.passed("length", detail)
    detail = f"{len(text)} characters; limit {limits.telegram.max_chars}"
    if len(text) > limits.telegram.max_chars:
        return ctx.failed("length", Reason.TOO_LONG, detail)
    return ctx.passed("length", detail)
