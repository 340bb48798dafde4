"""Conversations, every message in and out (including blocked attempts), and compliance decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables.base import Base
from storage.types import JSONType


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id", ondelete="CASCADE"), index=True)
    contact_point_id: Mapped[int] = mapped_column(ForeignKey("contact_points.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="bot")  # bot | officer | closed
    # Right-party verification: until true, only limited content may go out on this conversation.
    verified: Mapped[bool] = mapped_column(default=False)
    verification_attempts: Mapped[int] = mapped_column(default=0)
    third_party: Mapped[bool] = mapped_column(default=False)
    held_by: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column()
    last_message_at: Mapped[datetime] = mapped_column()
    cardholder_started: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (Index("ix_conversations_contact_point", "contact_point_id", "state"),)


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    cardholder_id: Mapped[int | None] = mapped_column(ForeignKey("cardholders.id", ondelete="SET NULL"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id", ondelete="SET NULL"))
    contact_point_id: Mapped[int | None] = mapped_column(ForeignKey("contact_points.id", ondelete="SET NULL"))
    # Inbound from an address with no contact point: kept so an officer can review who wrote and answer them.
    from_address: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    direction: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str | None] = mapped_column(String(32))
    author: Mapped[str] = mapped_column(String(64))  # cardholder | bot | scheduler | officer:<username>
    template_id: Mapped[str | None] = mapped_column(String(64))
    template_version: Mapped[int | None] = mapped_column()
    language: Mapped[str | None] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    provider_message_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("compliance_decisions.id"))
    # Set by the compliance gate: whether this outbound message counts toward the pack's frequency caps (a reply
    # inside a cardholder-started conversation may not, as the pack says). Caps count only rows marked true.
    counts_toward_cap: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (
        Index("ix_messages_cardholder_created", "cardholder_id", "created_at"),
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        Index("ix_messages_status_created", "status", "created_at"),
        Index("ix_messages_created", "created_at"),
        # Console message-log search: each filter a reviewer uses on its own has an index ending in created_at,
        # so a keyset page is an index range scan even at millions of rows.
        Index("ix_messages_account_created", "account_id", "created_at"),
        Index("ix_messages_template_created", "template_id", "created_at"),
        Index("ix_messages_author_created", "author", "created_at"),
        Index("ix_messages_decision", "decision_id"),
    )


class ComplianceDecision(Base):
    __tablename__ = "compliance_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    outcome: Mapped[str] = mapped_column(String(8))  # allow | defer | block
    rule: Mapped[str | None] = mapped_column(String(64))  # the deciding rule, e.g. "US.contact_hours"; None: allowed
    reasons: Mapped[list[str]] = mapped_column(JSONType())  # reason codes, e.g. ["quiet_hours"]
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSONType())  # every check: rule, passed, detail
    policy_pack: Mapped[str] = mapped_column(String(8))
    policy_version: Mapped[str] = mapped_column(String(32))
    counters: Mapped[dict[str, Any]] = mapped_column(JSONType())
    timezone: Mapped[str | None] = mapped_column(String(64))
    local_time: Mapped[str | None] = mapped_column(String(40))  # ISO with offset, as the cardholder saw it
    defer_until: Mapped[datetime | None] = mapped_column()
    decided_at: Mapped[datetime] = mapped_column(index=True)

    # "Blocked because of X" searches: a GIN index answers `reasons @> '["X"]'` on PostgreSQL.
    __table_args__ = (
        Index("ix_compliance_decisions_reasons", "reasons", postgresql_using="gin"),
        # Console dashboards count decisions by outcome over a date range.
        Index("ix_compliance_decisions_outcome_decided", "outcome", "decided_at"),
    )
