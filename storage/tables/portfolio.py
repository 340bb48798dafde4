"""Cardholders, their accounts, payments and the contact points we may reach them on."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.tables.base import Base, Timestamps


class Cardholder(Timestamps, Base):
    __tablename__ = "cardholders"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(8), index=True)
    card_last4: Mapped[str | None] = mapped_column(String(4))
    birth_year: Mapped[int | None] = mapped_column()
    # Attorney, bankruptcy, dispute, deceased, distress, vulnerability, cease...: rows of protective_states.

    accounts: Mapped[list[Account]] = relationship(back_populates="cardholder")
    contact_points: Mapped[list[ContactPoint]] = relationship(back_populates="cardholder")

    __table_args__ = (
        CheckConstraint("language IN ('zh','en')", name="language"),
        CheckConstraint("jurisdiction IN ('CN','US','US-MA','UK')", name="jurisdiction"),
    )


class Account(Timestamps, Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id", ondelete="CASCADE"), index=True)
    product: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    balance_minor: Mapped[int] = mapped_column(BigInteger)
    minimum_due_minor: Mapped[int] = mapped_column(BigInteger)
    due_date: Mapped[date] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(default=0)
    stage: Mapped[str] = mapped_column(String(16), index=True)
    stage_changed_at: Mapped[datetime | None] = mapped_column()
    # Reminders stop while an agreed plan is active (protective states such as a dispute are kept apart).
    reminders_paused_reason: Mapped[str | None] = mapped_column(String(64))
    last_reminder_at: Mapped[datetime | None] = mapped_column()
    touches_in_stage: Mapped[int] = mapped_column(default=0)

    cardholder: Mapped[Cardholder] = relationship(back_populates="accounts")

    __table_args__ = (
        CheckConstraint("balance_minor >= 0", name="balance_non_negative"),
        CheckConstraint("minimum_due_minor >= 0", name="minimum_due_non_negative"),
        CheckConstraint("product IN ('credit_card','personal_loan','mortgage')", name="product"),
    )


class Payment(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[date] = mapped_column(Date)
    received_at: Mapped[datetime] = mapped_column()
    reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    # When the daily staging applied it to the account's balance and minimum due. NULL: not applied yet.
    # A feed that loads payments already reflected in the account's figures sets this on insert.
    applied_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_payments_applied_at", "applied_at"),)


class ContactPoint(Timestamps, Base):
    __tablename__ = "contact_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64))
    preferred: Mapped[bool] = mapped_column(default=False)
    consent_basis: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None] = mapped_column()
    verified: Mapped[bool] = mapped_column(default=False)
    verified_at: Mapped[datetime | None] = mapped_column()
    opted_out_at: Mapped[datetime | None] = mapped_column()
    opted_out_method: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_reason: Mapped[str | None] = mapped_column(String(64))

    cardholder: Mapped[Cardholder] = relationship(back_populates="contact_points")

    __table_args__ = (
        UniqueConstraint("channel", "address", name="uq_contact_points_channel_address"),
        Index("ix_contact_points_cardholder_channel", "cardholder_id", "channel"),
    )


class StageChange(Base):
    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    days_past_due: Mapped[int] = mapped_column()
    changed_at: Mapped[datetime] = mapped_column()


class ContactLedger(Base):
    """One row per cardholder. Senders lock it (SELECT ... FOR UPDATE) so concurrent workers serialise on caps."""

    __tablename__ = "contact_ledger"

    cardholder_id: Mapped[int] = mapped_column(
        ForeignKey("cardholders.id", ondelete="CASCADE"), primary_key=True
    )
    last_contact_at: Mapped[datetime | None] = mapped_column()
    contacts_total: Mapped[int] = mapped_column(BigInteger, default=0)
    # When a message carrying the pack's first-communication disclosure went out (US 1006.18(e)); later ones
    # carry the shorter subsequent-communication disclosure.
    first_disclosure_at: Mapped[datetime | None] = mapped_column()
