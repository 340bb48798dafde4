"""All tables. Import from here so Alembic and the app see one metadata."""

from storage.tables.base import Base
from storage.tables.binding import BindingToken
from storage.tables.console import ConsoleUser, LoginThrottle, TemplateDraft
from storage.tables.conversations import ComplianceDecision, Conversation, Message
from storage.tables.installation import Installation
from storage.tables.portfolio import Account, Cardholder, ContactLedger, ContactPoint, Payment, StageChange
from storage.tables.protection import ProtectiveState
from storage.tables.scheduling import RateBucket, scheduler_jobs
from storage.tables.work import (
    AuditEvent,
    AuditHead,
    Escalation,
    Installment,
    InstallmentPlan,
    OutboxItem,
    Promise,
)

__all__ = [
    "Account",
    "AuditEvent",
    "AuditHead",
    "Base",
    "BindingToken",
    "Cardholder",
    "ComplianceDecision",
    "ConsoleUser",
    "ContactLedger",
    "ContactPoint",
    "Conversation",
    "Escalation",
    "Installation",
    "Installment",
    "InstallmentPlan",
    "LoginThrottle",
    "Message",
    "OutboxItem",
    "Payment",
    "Promise",
    "ProtectiveState",
    "RateBucket",
    "StageChange",
    "TemplateDraft",
    "scheduler_jobs",
]
