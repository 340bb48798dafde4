"""storage.bulk writes exactly what the ORM would: defaults filled, aware UTC times, JSON, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from accord.bootstrap import Container
from storage.bulk import among, bulk_insert
from storage.db import transaction
from storage.tables.portfolio import Cardholder
from storage.tables.work import Escalation

CARDHOLDERS = Cardholder.__table__
ESCALATIONS = Escalation.__table__


def holder(n: int, at: datetime) -> dict[str, object]:
    return {"external_id": f"B{n}", "full_name": f"Name {n}", "language": "en", "timezone": "Europe/London",
            "jurisdiction": "UK", "card_last4": None, "birth_year": 1980, "created_at": at, "updated_at": at}


def test_rows_read_back_as_the_orm_wrote_them(container: Container) -> None:
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=shanghai)
    with transaction(container.session_factory) as session:
        bulk_insert(session, CARDHOLDERS, [holder(n, at) for n in range(3)])  # type: ignore[arg-type]
        ids = session.scalars(select(Cardholder.id).where(among(session, Cardholder.external_id, ["B0", "B2"])))
        first = sorted(ids)[0]
        bulk_insert(session, ESCALATIONS, [  # type: ignore[arg-type]
            {"cardholder_id": first, "reason": "distress", "priority": 1, "created_at": at}])
    with container.session_factory() as session:
        rows = session.scalars(select(Cardholder).order_by(Cardholder.external_id)).all()
        assert [r.external_id for r in rows] == ["B0", "B1", "B2"]
        assert rows[0].created_at == at and rows[0].created_at.utcoffset() == timedelta(0)
        escalation = session.scalars(select(Escalation)).one()
        # Python-side defaults, filled in as INSERT would.
        assert (escalation.status, escalation.detail) == ("open", {})


def test_naive_times_are_refused_and_nothing_is_written(container: Container) -> None:
    with pytest.raises(ValueError, match="naive datetime"), transaction(container.session_factory) as session:
        bulk_insert(session, CARDHOLDERS, [holder(1, datetime(2026, 11, 23, 10, 0))])  # type: ignore[arg-type]
    with container.session_factory() as session:
        assert session.scalars(select(Cardholder)).all() == []
