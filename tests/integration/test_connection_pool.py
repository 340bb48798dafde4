"""Pooled PostgreSQL connections: tested before reuse only after sitting idle, so a busy service does not pay a
round trip per transaction, and a connection the server dropped while idle is replaced, not handed out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from storage.db import make_engine
from tests.conftest import create_pg_database, drop_pg_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    url = create_pg_database("accord_pool")
    try:
        yield url
    finally:
        drop_pg_database(url)


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    admin = make_engine(url, poolclass=NullPool)  # not from the pool under test
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_use(pg_url: str) -> None:
    engine = make_engine(pg_url, ping_idle_after_s=0.0)  # every checkout counts as idle here
    try:
        first = _backend_pid(engine)
        _terminate(pg_url, first)
        assert _backend_pid(engine) != first  # pinged, found dead, replaced: no error reaches the caller
    finally:
        engine.dispose()


def test_a_recently_used_connection_is_handed_out_without_a_ping(pg_url: str) -> None:
    engine = make_engine(pg_url, ping_idle_after_s=3600.0, pool_size=1, max_overflow=1)
    try:
        first = _backend_pid(engine)
        _terminate(pg_url, first)
        # No ping within the idle window: the dead connection is handed out and its first statement fails...
        with pytest.raises(OperationalError):
            _backend_pid(engine)
        # ...the pool has discarded it, and the next checkout works.
        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
