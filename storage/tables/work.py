"""The durable outbox, promises, installment plans and escalations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables.base import Base
from storage.types import JSONType


class OutboxItem(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "reminder:<account>:<local date>"; a second sweep for the same day collides here and adds nothing.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    contact_point_id: Mapped[int | None] = mapped_column(ForeignKey("contact_points.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32))
    template_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    params: Mapped[dict[str, Any]] = mapped_column(JSONType())
    priority: Mapped[int] = mapped_column(default=100)  # lower goes first; bot replies beat reminders
    not_before: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        # Claiming reads `status='queued' AND not_before <= now ORDER BY priority, not_before`: this order lets
        # PostgreSQL walk the index and stop after the batch, even with a million rows queued.
        Index("ix_outbox_status_priority_not_before", "status", "priority", "not_before"),
        # The sweep skips accounts that still have a reminder pending; staging cancels them on stage change.
        Index("ix_outbox_account_status", "account_id", "status"),
    )


class Promise(Base):
    __tablename__ = "promises"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    promised_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")
    recorded_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_promises_status_date", "status", "promised_date"),)


class InstallmentPlan(Base):
    __tablename__ = "installment_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(20))
    term_months: Mapped[int] = mapped_column()
    total_minor: Mapped[int] = mapped_column(BigInteger)
    down_payment_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    monthly_minor: Mapped[int] = mapped_column(BigInteger)
    fees_waived: Mapped[bool] = mapped_column(default=False)
    interest_waived: Mapped[bool] = mapped_column(default=False)
    settlement_discount_bp: Mapped[int] = mapped_column(default=0)  # basis points off the balance
    proposed_by: Mapped[str] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()


class Installment(Base):
    __tablename__ = "installments"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("installment_plans.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column()
    due_date: Mapped[date] = mapped_column(Date)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    paid_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_installments_status_due", "status", "due_date"),)


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id", ondelete="CASCADE"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column()  # lower is more urgent: distress first
    status: Mapped[str] = mapped_column(String(16), default="open")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType(), default=dict)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    claimed_at: Mapped[datetime | None] = mapped_column()
    first_reply_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_escalations_status_priority", "status", "priority", "created_at"),)


class AuditEvent(Base):
    """Append-only, hash-chained: each row's hash covers its content and the previous row's hash."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType())
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row (id 1) every audit append locks and advances, so concurrent appends get strictly
    increasing `seq` values and chain onto the true previous hash. Also the anchor that reveals a deleted tail."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
