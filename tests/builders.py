"""Small builders for rows that many tests need. They write through a session and never commit."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from storage.tables import Account, Cardholder, ContactPoint


def cardholder(
    session: Session,
    at: datetime,
    *,
    external_id: str = "C1",
    full_name: str = "Ana Ruiz",
    language: str = "en",
    timezone: str = "America/New_York",
    jurisdiction: str = "US",
    phone: str | None = "+12125550123",
    chat_id: str | None = "424242",
    stage: str = "dpd_1_29",
    days_past_due: int = 12,
) -> Cardholder:
    holder = Cardholder(external_id=external_id, full_name=full_name, language=language, timezone=timezone,
                        jurisdiction=jurisdiction, card_last4="4242", birth_year=1980, created_at=at, updated_at=at)
    session.add(holder)
    session.flush()
    session.add(Account(external_id=f"A-{external_id}", cardholder_id=holder.id, product="credit_card",
                        currency="USD", balance_minor=250_000, minimum_due_minor=5_000, due_date=date(2026, 11, 11),
                        days_past_due=days_past_due, stage=stage, created_at=at, updated_at=at))
    for channel, address in (("sms", phone), ("telegram", chat_id)):
        if address is not None:
            session.add(ContactPoint(cardholder_id=holder.id, channel=channel, address=address, preferred=False,
                                     consent_basis="cardholder_agreement", consent_at=at, verified=True,
                                     created_at=at, updated_at=at))
    session.flush()
    return holder
