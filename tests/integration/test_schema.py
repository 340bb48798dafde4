"""The migrations build exactly the schema the table definitions describe, on both backends."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from storage.db import make_engine, make_session_factory, migrate, transaction
from storage.tables import Account, Base, Cardholder


def test_migrations_match_models(db_url: str) -> None:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    engine.dispose()
    assert diff == [], f"table definitions and migrations disagree: {diff}"


def test_migrate_twice_is_a_no_op(db_url: str) -> None:
    migrate(db_url)
    migrate(db_url)


def test_timestamps_round_trip_as_aware_utc(db_url: str) -> None:
    factory = make_session_factory(make_engine(db_url))
    at = datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
    with transaction(factory) as s:
        holder = Cardholder(external_id="T1", full_name="Ana Ruiz", language="en", timezone="America/Chicago",
                            jurisdiction="US", created_at=at, updated_at=at)
        s.add(holder)
        s.flush()
        s.add(Account(external_id="T1", cardholder_id=holder.id, product="credit_card", currency="USD",
                      balance_minor=123456, minimum_due_minor=2500, due_date=date(2026, 3, 1), stage="dpd_1_29",
                      created_at=at, updated_at=at))
    with factory() as s:
        loaded = s.scalars(select(Cardholder)).one()
        assert loaded.created_at == at and loaded.created_at.tzinfo is not None
        assert s.scalars(select(Account.balance_minor)).one() == 123456


def test_naive_datetime_is_refused(db_url: str) -> None:
    factory = make_session_factory(make_engine(db_url))
    with pytest.raises(Exception, match="naive datetime"), transaction(factory) as s:
        s.add(Cardholder(external_id="T2", full_name="X", language="en", timezone="UTC", jurisdiction="US",
                         created_at=datetime(2026, 1, 1), updated_at=datetime(2026, 1, 1)))
