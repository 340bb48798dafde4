"""Officer replies go through the compliance gate like every other message.

A blocked reply comes back with the decision's reasons and what would pass: the text with the flagged phrases
taken out (dry-run through the gate first, so the suggestion is known to pass), and approved templates the gate
would allow on this conversation right now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from accord.bootstrap import Container
from compliance.contract import SendRequest
from compliance.reasons import plain
from core.enums import Channel, MessagePurpose
from storage.db import transaction
from storage.tables import Conversation
from web.console import audit_trail
from web.console.deps import CurrentUser
from web.console.desk import wiring
from web.console.desk.outcomes import mark_first_reply


@dataclass
class ReplyResult:
    status: str  # sent | deferred | blocked | failed | review | unavailable
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (code, plain-language sentence)
    findings: list[str] = field(default_factory=list)  # failed checks: rule and detail
    cleaned_text: str | None = None  # the reply without flagged phrases, known to pass
    marked: list[tuple[str, bool]] = field(default_factory=list)  # the reply split into (text, flagged) runs
    suggestions: list[tuple[str, str]] = field(default_factory=list)  # approved (template id, rendered text)
    defer_until: datetime | None = None
    message_id: int | None = None


def request_for(conv: Conversation, user: CurrentUser, text: str | None, template_id: str | None = None) -> SendRequest:
    return SendRequest(
        cardholder_id=conv.cardholder_id, channel=Channel(conv.channel), purpose=MessagePurpose.OFFICER_REPLY,
        template_id=template_id or wiring.OFFICER_FREE_TEXT_TEMPLATE, author=f"officer:{user.username}",
        free_text=None if template_id else text, conversation_id=conv.id, contact_point_id=conv.contact_point_id,
    )


def send(container: Container, conv: Conversation, user: CurrentUser, text: str,
         template_id: str | None = None) -> ReplyResult:
    text = text.strip()
    gate = wiring.gate(container)
    if gate is None:
        return ReplyResult(status="unavailable")
    if not text and not template_id:
        return ReplyResult(status="blocked", reasons=[("empty_text", "the reply is empty")])
    request = request_for(conv, user, text, template_id)
    outcome = gate.deliver(request)
    decision = outcome.decision
    result = ReplyResult(status=outcome.status, reasons=[(code, plain(code)) for code in decision.reasons],
                         findings=[f"{c.rule}: {c.detail}" for c in decision.checks if not c.passed],
                         defer_until=decision.defer_until, message_id=outcome.message_id)
    if outcome.status == "blocked":
        if not template_id:
            phrases = wiring.flagged_phrases(container, text, decision.language or "en")
            result.marked = mark(text, phrases)
            result.cleaned_text = _passing_rewrite(container, request, text, phrases)
        result.suggestions = wiring.reply_templates(container, request)
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        if outcome.status in ("sent", "deferred"):
            mark_first_reply(s, conv.id, now)
        audit_trail.record(s, user, "reply", "conversation", conv.id, now, message_id=outcome.message_id,
                           status=outcome.status, reasons=list(decision.reasons), template_id=template_id)
    return result


def mark(text: str, phrases: list[str]) -> list[tuple[str, bool]]:
    """Split `text` into runs, flagging each occurrence of a phrase, so the page can highlight them."""
    if not phrases:
        return [(text, False)]
    pattern = re.compile("|".join(re.escape(p) for p in sorted(set(phrases), key=len, reverse=True)))
    runs: list[tuple[str, bool]] = []
    last = 0
    for found in pattern.finditer(text):
        if found.start() > last:
            runs.append((text[last:found.start()], False))
        runs.append((found.group(0), True))
        last = found.end()
    if last < len(text):
        runs.append((text[last:], False))
    return runs


def _passing_rewrite(container: Container, request: SendRequest, text: str, phrases: list[str]) -> str | None:
    """Drop the phrases the lint flagged and dry-run the result; offer it (to edit) only if the gate allows it."""
    if not phrases:
        return None
    cleaned = text
    for phrase in phrases:
        cleaned = cleaned.replace(phrase, "")
    cleaned = " ".join(cleaned.split()).strip(" ,;")
    if not cleaned or cleaned == text:
        return None
    gate = wiring.gate(container)
    trial = SendRequest(**{**request.__dict__, "free_text": cleaned})
    return cleaned if gate is not None and gate.evaluate(trial).allowed else None
