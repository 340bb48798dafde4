"""Tables the reminder engine's machinery needs: APScheduler's job store and shared rate-limit buckets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Float, LargeBinary, String, Table, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables.base import Base

# APScheduler's SQLAlchemyJobStore creates this table itself when missing; the migration creates it first with
# exactly the job store's columns, so the schema is whole after `accord db upgrade` and autogenerate is quiet.
SCHEDULER_JOBS_TABLE = "scheduler_jobs"
scheduler_jobs = Table(
    SCHEDULER_JOBS_TABLE,
    Base.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class RateBucket(Base):
    """A token bucket shared by every dispatcher process (a provider sender's limit is global, not per process)."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)  # e.g. "telegram:sender"
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column()

