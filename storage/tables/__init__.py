"""All tables. Import from here so Alembic and the app see one metadata."""

from storage.tables.base import Base
from storage.tables.conversations import ComplianceDecision, Conversation, Message
from storage.tables.portfolio import Account, Cardholder, ContactLedger, ContactPoint, Payment, StageChange
from storage.tables.work import AuditEvent, Escalation, Installment, InstallmentPlan, OutboxItem, Promise

__all__ = [
    "Account",
    "AuditEvent",
    "Base",
    "Cardholder",
    "ComplianceDecision",
    "ContactLedger",
    "ContactPoint",
    "Conversation",
    "Escalation",
    "Installment",
    "InstallmentPlan",
    "Message",
    "OutboxItem",
    "Payment",
    "Promise",
    "StageChange",
]
