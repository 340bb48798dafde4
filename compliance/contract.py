"""The gate's public contract. Everything that wants a message to reach a cardholder builds a SendRequest and
hands it to the gate (`ComplianceGate.deliver`); nothing else may call a channel adapter's `send`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.enums import Channel, DecisionOutcome, MessagePurpose


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


@dataclass(frozen=True)
class Check:
    rule: str  # e.g. "US.contact_hours"
    passed: bool
    detail: str


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

    @property
    def allowed(self) -> bool:
        return self.outcome is DecisionOutcome.ALLOW


@dataclass(frozen=True)
class DeliveryOutcome:
    decision: Decision
    message_id: int | None  # the message row written with the decision (sent, deferred or blocked)
    decision_id: int | None
    status: str  # sent | deferred | blocked | failed | review
    provider_message_id: str | None = None
    error: str | None = None
    retryable: bool = False
