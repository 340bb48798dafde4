"""Builders for the reminder engine's tests: accounts at a chosen delinquency, with chosen contact points."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.bootstrap import Container
from storage.db import transaction
from storage.tables import Account, Cardholder, ContactPoint, OutboxItem

_seq = itertools.count(1)


def add_account(
    session: Session,
    at: datetime,
    *,
    dpd: int,
    stage: str,
    language: str = "en",
    timezone: str = "Asia/Shanghai",
    jurisdiction: str = "CN",
    channels: tuple[str, ...] = ("sms", "telegram"),
    preferred: str | None = None,
    consent: bool = True,
    minimum_due_minor: int = 5_000,
    balance_minor: int = 250_000,
    today: date | None = None,
    **account_fields: Any,
) -> Account:
    """An account `dpd` days past due on `today` (default: `at`'s date in `timezone`)."""
    n = next(_seq)
    from zoneinfo import ZoneInfo

    local_today = today or at.astimezone(ZoneInfo(timezone)).date()
    holder = Cardholder(external_id=f"H{n:06d}", full_name=f"Holder {n}", language=language, timezone=timezone,
                        jurisdiction=jurisdiction, card_last4="4242", birth_year=1980, created_at=at, updated_at=at)
    session.add(holder)
    session.flush()
    account = Account(external_id=f"A{n:06d}", cardholder_id=holder.id, product="credit_card", currency="CNY",
                      balance_minor=balance_minor, minimum_due_minor=minimum_due_minor,
                      due_date=local_today - timedelta(days=dpd), days_past_due=dpd, stage=stage,
                      created_at=at, updated_at=at, **account_fields)
    session.add(account)
    for channel in channels:
        address = f"+86138{n:08d}" if channel == "sms" else str(100_000 + n)
        session.add(ContactPoint(cardholder_id=holder.id, channel=channel, address=address,
                                 preferred=channel == preferred, consent_basis="cardholder_agreement" if consent else None,
                                 consent_at=at if consent else None, verified=True, created_at=at, updated_at=at))
    session.flush()
    return account


def outbox_rows(container: Container) -> list[OutboxItem]:
    with container.session_factory() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def outbox_count(container: Container) -> int:
    with container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxItem)) or 0)


def build(container: Container, **kwargs: Any) -> int:
    """Add one account in its own transaction; returns its id."""
    with transaction(container.session_factory) as session:
        return add_account(session, container.clock.now(), **kwargs).id


def bulk_sms_portfolio(container: Container, holders: int, rows_each: int, *, dpd: int = 10,
                       stage: str = "dpd_1_29") -> None:
    """`holders` CN cardholders with one SMS contact point and one account each, and `rows_each` queued
    reminder rows per cardholder, written in a few bulk statements (for the tests that need thousands)."""
    from zoneinfo import ZoneInfo

    from sqlalchemy import insert

    from scheduler.outbox import OUTBOX

    now = container.clock.now()
    due = now.astimezone(ZoneInfo("Asia/Shanghai")).date() - timedelta(days=dpd)
    base = next(_seq) * 1_000_000
    with container.engine.begin() as conn:
        ids = list(conn.scalars(insert(Cardholder).returning(Cardholder.id), [
            {"external_id": f"B{base + i}", "full_name": f"Bulk {i}", "language": "zh", "timezone": "Asia/Shanghai",
             "jurisdiction": "CN", "created_at": now, "updated_at": now}
            for i in range(holders)]))
        conn.execute(insert(Account), [
            {"external_id": f"BA{holder_id}", "cardholder_id": holder_id, "product": "credit_card",
             "currency": "CNY", "balance_minor": 100_000, "minimum_due_minor": 5_000, "due_date": due,
             "days_past_due": dpd, "stage": stage, "touches_in_stage": 0, "created_at": now, "updated_at": now}
            for holder_id in ids])
        conn.execute(insert(ContactPoint), [
            {"cardholder_id": holder_id, "channel": "sms", "address": f"+86139{holder_id:08d}", "preferred": True,
             "consent_basis": "cardholder_agreement", "consent_at": now, "verified": True, "status": "active",
             "created_at": now, "updated_at": now}
            for holder_id in ids])
        accounts = dict(conn.execute(select(Account.cardholder_id, Account.id)
                                     .where(Account.cardholder_id.in_(ids))).tuples().all())
        points = dict(conn.execute(select(ContactPoint.cardholder_id, ContactPoint.id)
                                   .where(ContactPoint.cardholder_id.in_(ids))).tuples().all())
        conn.execute(insert(OUTBOX), [
            {"idempotency_key": f"bulk:{holder_id}:{n}", "cardholder_id": holder_id, "account_id": accounts[holder_id],
             "contact_point_id": points[holder_id], "channel": "sms", "purpose": "reminder",
             "template_id": f"reminder.{stage}", "language": "zh",
             "params": {"stage": stage, "days_past_due": dpd, "amount_due_minor": 5_000, "balance_minor": 100_000,
                        "currency": "CNY", "due_date": due.isoformat()},
             "priority": 100, "not_before": now, "status": "queued", "attempts": 0, "created_at": now,
             "updated_at": now}
            for holder_id in ids for n in range(rows_each)])
