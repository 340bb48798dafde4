"""Shared fixtures: real databases (SQLite and PostgreSQL), a fixed clock, and the app built by the bootstrap.

Tests that take `db_url` run once per backend. Each backend's database is created and migrated once per test
process and emptied after every test, so tests stay isolated. PostgreSQL databases are dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from core.clock import FixedClock
from storage.db import make_engine, migrate
from storage.tables import Base

PG_ADMIN_URL = os.environ.get("ACCORD_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKENDS = ["sqlite", "postgres"]


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def create_pg_database(prefix: str = "accord_test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return _pg_url(name)


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _migrated_databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    sqlite_path = tmp_path_factory.mktemp("db") / "accord-test.db"
    urls = {"sqlite": f"sqlite:///{sqlite_path}"}
    pg_url = create_pg_database()
    urls["postgres"] = pg_url
    try:
        for url in urls.values():
            migrate(url)
        yield urls
    finally:
        drop_pg_database(pg_url)


def empty_all_tables(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        # The installation row is the database's identity, like its migration stamp: it outlives any data.
        tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name != "installation"]
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, _migrated_databases: dict[str, str]) -> Iterator[str]:
    url = _migrated_databases[request.param]
    try:
        yield url
    finally:
        empty_all_tables(url)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai, 21:00 in New York


@pytest.fixture
def config_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "config"


@pytest.fixture
def settings(db_url: str, config_dir: Path) -> Settings:
    return Settings(accord_env="test", database_url=db_url, accord_config_dir=config_dir, _env_file=None)  # type: ignore[call-arg]


@pytest.fixture
def container(settings: Settings, clock: FixedClock) -> Iterator[Container]:
    app = bootstrap(settings, clock=clock)
    try:
        yield app
    finally:
        app.close()
