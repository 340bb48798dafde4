"""A throwaway copy of Accord's database for `accord simulate`, so a replay never writes simulated messages,
contact counters or audit records into the real one.

SQLite is copied with the SQLite backup API (a consistent snapshot, even while the app runs). PostgreSQL gets a
new database on the same server (the user needs CREATEDB), migrated, then filled table by table in key order
through streamed reads and batched writes, and dropped afterwards unless kept.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine, make_url

from storage.db import make_engine, migrate, normalise_url
from storage.tables import Base

log = logging.getLogger(__name__)

# Machinery state that means nothing in a copy, and the database's identity: the migrated copy has its own.
_SKIP = {"scheduler_jobs", "rate_buckets", "installation"}
_BATCH = 5_000


class ScratchCopyError(RuntimeError):
    pass


@contextmanager
def scratch_copy(source_url: str, *, keep: bool = False,
                 progress: Callable[[str, int], None] | None = None) -> Iterator[str]:
    """Yield the URL of a fresh copy of `source_url`; removed on exit unless `keep`."""
    url = make_url(normalise_url(source_url))
    if url.get_backend_name() == "sqlite":
        with _sqlite_copy(url.database or "", keep) as target:
            yield target
        return
    if url.get_backend_name() == "postgresql":
        with _postgres_copy(source_url, keep, progress) as target:
            yield target
        return
    raise ScratchCopyError(f"cannot copy a {url.get_backend_name()} database; pass --database-url to a copy")


@contextmanager
def _sqlite_copy(path: str, keep: bool) -> Iterator[str]:
    if not path or path == ":memory:" or not Path(path).exists():
        raise ScratchCopyError(f"SQLite database {path!r} does not exist")
    folder = Path(tempfile.mkdtemp(prefix="accord-sim-"))
    target = folder / "accord-simulation.db"
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    dest = sqlite3.connect(target)
    try:
        source.backup(dest)
    finally:
        dest.close()
        source.close()
    try:
        yield f"sqlite:///{target}"
    finally:
        if not keep:
            for item in folder.iterdir():
                item.unlink()
            folder.rmdir()


@contextmanager
def _postgres_copy(source_url: str, keep: bool, progress: Callable[[str, int], None] | None) -> Iterator[str]:
    source = make_url(normalise_url(source_url))
    name = f"accord_sim_{uuid.uuid4().hex[:10]}"
    admin = create_engine(source.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        raise ScratchCopyError(
            f"could not create a scratch database on the server ({type(exc).__name__}); the user needs CREATEDB, "
            "or pass --database-url pointing at a copy you made"
        ) from exc
    target_url = source.set(database=name).render_as_string(hide_password=False)
    try:
        migrate(target_url)
        copy_tables(make_engine(source_url), make_engine(target_url), progress)
        yield target_url
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def copy_tables(source: Engine, target: Engine, progress: Callable[[str, int], None] | None = None) -> None:
    """Stream every table from `source` into the empty, migrated `target`, parents before children."""
    try:
        for table in Base.metadata.sorted_tables:
            if table.name in _SKIP:
                continue
            order = list(table.primary_key.columns)
            copied = 0
            with source.connect() as reader, target.begin() as writer:
                result = reader.execution_options(yield_per=_BATCH).execute(select(table).order_by(*order))
                for part in result.partitions():
                    writer.execute(table.insert(), [dict(row._mapping) for row in part])
                    copied += len(part)
                if target.dialect.name == "postgresql" and "id" in table.c and copied:
                    top = writer.scalar(select(func.max(table.c.id)))
                    writer.execute(text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v)"),
                                   {"t": table.name, "v": top})
            if progress is not None:
                progress(table.name, copied)
    finally:
        source.dispose()
        target.dispose()
