"""Facts about this Accord database itself (one row, id 1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables.base import Base


class Installation(Base):
    __tablename__ = "installation"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # Written into every dialogue sender id (core.dialogue_sender); NULL for a database that had conversations
    # before namespaces existed, whose trackers use the bare conversation id.
    dialogue_namespace: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column()
