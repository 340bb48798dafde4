"""Protective states: one row per state a person (or one of their addresses) is in, with who set it, when, why,
its evidence, and how it ended. The rows are the history; the active ones are what the gate and the sweep obey."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables.base import Base
from storage.types import JSONType


class ProtectiveState(Base):
    __tablename__ = "protective_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id", ondelete="CASCADE"))
    # Set for the states that belong to one address (a channel opt-out, a third party on the line).
    contact_point_id: Mapped[int | None] = mapped_column(ForeignKey("contact_points.id", ondelete="CASCADE"))
    # The account the statement was about, where there was one (kept as evidence; states cover the person).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # proposed, active, lifted
    set_by: Mapped[str] = mapped_column(String(16))  # bot, officer, bank_import, provider, cardholder
    actor: Mapped[str] = mapped_column(String(64))  # e.g. "bot", "officer:olivia", "import"
    set_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    # The message id, the attorney's name and contact, the bankruptcy case, the vulnerability driver...
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONType())
    review_on: Mapped[date | None] = mapped_column(Date)
    # When the state stops being obeyed. It may lie in the future: a rejected dispute is obeyed until its
    # validation period ends, distress until the date an officer judged safe.
    lifted_at: Mapped[datetime | None] = mapped_column()
    lifted_by: Mapped[str | None] = mapped_column(String(64))
    lift_outcome: Mapped[str | None] = mapped_column(String(32))
    lift_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column()  # when the lifting decision was taken
    updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        Index("ix_protective_states_cardholder_status", "cardholder_id", "status"),
        Index("ix_protective_states_contact_point", "contact_point_id"),
    )
