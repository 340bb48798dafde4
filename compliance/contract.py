"""The gate's public contract. Everything that wants a message to reach a cardholder builds a SendRequest and
hands it to the gate (`ComplianceGate.deliver`); nothing else may call a channel adapter's `send`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.enums import Channel, DecisionOutcome, MessagePurpose


@dataclass(frozen=True)
class MessagePart:
    """One more approved template in a message of several parts (SendRequest.extra_parts): rendered by the gate
    like the request's own template, with these params over the shared ones."""

    template_id: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendRequest:
    cardholder_id: int
    channel: Channel
    purpose: MessagePurpose
    template_id: str  # an approved template in config/templates; the gate renders and lints it
    author: str  # "scheduler", "bot", "system" or "officer:<username>"
    params: dict[str, Any] = field(default_factory=dict)
    account_id: int | None = None
    conversation_id: int | None = None
    contact_point_id: int | None = None  # None: the gate picks the cardholder's contact point on `channel`
    language: str | None = None  # None: the cardholder's language
    outbox_id: int | None = None
    free_text: str | None = None  # officer replies only: linted like a template, then sent
    # Further templates joined after `template_id` into this one message, in order (a turn's replies, packed by
    # compliance.turn_message): each is rendered and privacy-checked like the first; the pack's elements, the lint
    # and the length apply once, to the joined text. Empty for an ordinary one-template message.
    extra_parts: tuple[MessagePart, ...] = ()

    @property
    def parts(self) -> tuple[MessagePart, ...]:
        """Every template of the message in order, the request's own first."""
        return (MessagePart(self.template_id, self.params), *self.extra_parts)


@dataclass(frozen=True)
class Check:
    rule: str  # e.g. "US.contact_hours"
    passed: bool
    detail: str
    reason: str | None = None  # the reason code a failed check contributes, e.g. "outside_contact_hours"


@dataclass(frozen=True)
class Decision:
    outcome: DecisionOutcome
    reasons: tuple[str, ...]
    checks: tuple[Check, ...]
    policy_pack: str
    policy_version: str
    counters: dict[str, Any]
    timezone: str | None
    local_time: str | None
    defer_until: datetime | None = None
    rule: str | None = None  # the first failed check's rule: what a reviewer reads first; None when allowed
    text: str | None = None  # the exact text that was (or, for a dry run, would be) sent, when it rendered
    template_version: int | None = None
    language: str | None = None

    @property
    def allowed(self) -> bool:
        return self.outcome is DecisionOutcome.ALLOW

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.passed)


@dataclass(frozen=True)
class DeliveryOutcome:
    decision: Decision
    message_id: int | None  # the message row written with the decision (sent, deferred or blocked)
    decision_id: int | None
    status: str  # sent | deferred | blocked | failed | review
    provider_message_id: str | None = None
    error: str | None = None
    retryable: bool = False
    retry_after_s: float | None = None  # the provider's Retry-After on a transient failure, when it gave one

    @property
    def sent(self) -> bool:
        return self.status == "sent"
