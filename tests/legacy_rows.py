"""Rows written with plain SQL into a database at an older schema, for migration tests: the ORM describes the
newest schema, so it cannot write an old one."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text


def _insert(conn: Connection, table: str, values: dict[str, Any]) -> int:
    names = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    row = conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks}) RETURNING id"), values).first()
    assert row is not None
    return int(row[0])


def holder(conn: Connection, at: datetime, *, external_id: str = "CC-LEGACY-1", do_not_contact: str | None = None,
           cease_at: datetime | None = None, vulnerable: bool = False) -> int:
    return _insert(conn, "cardholders", {
        "external_id": external_id, "full_name": "Legacy Holder", "language": "en", "timezone": "America/New_York",
        "jurisdiction": "US", "card_last4": "4417", "birth_year": 1980, "do_not_contact": do_not_contact,
        "do_not_contact_at": at if do_not_contact else None, "cease_requested_at": cease_at,
        "vulnerable": vulnerable, "created_at": at, "updated_at": at})


def point(conn: Connection, holder_id: int, at: datetime, *, address: str = "+12025550142",
          opted_out_at: datetime | None = None) -> int:
    return _insert(conn, "contact_points", {
        "cardholder_id": holder_id, "channel": "sms", "address": address, "preferred": True,
        "consent_basis": "express_written", "consent_at": at, "verified": False, "opted_out_at": opted_out_at,
        "opted_out_method": "keyword" if opted_out_at else None, "status": "active", "created_at": at,
        "updated_at": at})


def account(conn: Connection, holder_id: int, at: datetime, *, external_id: str = "CC-LEGACY-1",
            paused: str | None = None) -> int:
    return _insert(conn, "accounts", {
        "external_id": external_id, "cardholder_id": holder_id, "product": "credit_card", "currency": "USD",
        "balance_minor": 120_000, "minimum_due_minor": 5_000, "due_date": date(2026, 11, 1), "days_past_due": 22,
        "stage": "dpd_1_29", "reminders_paused_reason": paused, "touches_in_stage": 0, "created_at": at,
        "updated_at": at})


def conversation(conn: Connection, holder_id: int, point_id: int, at: datetime, *, third_party: bool = False) -> int:
    return _insert(conn, "conversations", {
        "cardholder_id": holder_id, "contact_point_id": point_id, "channel": "sms", "state": "bot",
        "verified": False, "verification_attempts": 0, "third_party": third_party, "opened_at": at,
        "last_message_at": at, "cardholder_started": True})
