"""Upgrading a database that held the old flags: every do-not-contact, cease, vulnerability, opt-out, third party
and paused-for-dispute account becomes a protective state in force, and the gate goes on blocking what it
blocked before."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select

from storage.db import alembic_config, make_engine, make_session_factory, migrate
from storage.tables import Account, ProtectiveState
from tests import legacy_rows
from tests.conftest import create_pg_database, drop_pg_database

BEFORE = "9c41e7a2d5b3"  # the revision before protective states
AT = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def old_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    url = create_pg_database("accord_test_protection_migration")
    try:
        yield url
    finally:
        drop_pg_database(url)


def test_the_old_flags_become_protective_states(old_url: str) -> None:
    command.upgrade(alembic_config(old_url), BEFORE)
    engine = make_engine(old_url)
    with engine.begin() as conn:
        bankrupt = legacy_rows.holder(conn, AT, external_id="A", do_not_contact="bankruptcy")
        ceased = legacy_rows.holder(conn, AT, external_id="B", cease_at=AT, vulnerable=True)
        disputing = legacy_rows.holder(conn, AT, external_id="C")
        stopped = legacy_rows.point(conn, disputing, AT, address="+12025550143", opted_out_at=AT)
        legacy_rows.conversation(conn, disputing, stopped, AT, third_party=True)
        paused = legacy_rows.account(conn, disputing, AT, external_id="C-1", paused="dispute")
        planned = legacy_rows.account(conn, ceased, AT, external_id="B-1", paused="installment_plan")
    migrate(old_url)

    with make_session_factory(engine)() as session:
        rows = session.scalars(select(ProtectiveState).order_by(ProtectiveState.id)).all()
        found = {(r.cardholder_id, r.kind, r.contact_point_id, r.account_id) for r in rows}
        assert found == {
            (bankrupt, "bankruptcy", None, None),
            (ceased, "cease", None, None),
            (ceased, "vulnerability", None, None),
            (disputing, "channel_opt_out", stopped, None),
            (disputing, "third_party", stopped, None),
            (disputing, "dispute", None, paused),
        }
        assert all(r.status == "active" and r.lifted_at is None and r.set_by == "bank_import" for r in rows)
        assert {r.set_at for r in rows if r.kind in ("bankruptcy", "cease")} == {AT}
        # The dispute's pause became its state; an agreed plan's pause is not a protective state and stays.
        assert session.get_one(Account, paused).reminders_paused_reason is None
        assert session.get_one(Account, planned).reminders_paused_reason == "installment_plan"
    engine.dispose()
