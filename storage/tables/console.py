"""Console accounts and login throttling. Sessions themselves are signed cookies, so no session table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables.base import Base


class ConsoleUser(Base):
    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, parameters inside the hash
    role: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(2), default="en")  # console chrome language
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout and password change: every cookie signed with an older epoch stops working.
    session_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("role IN ('officer','supervisor','compliance','admin')", name="role"),
        CheckConstraint("language IN ('zh','en')", name="language"),
    )


class LoginThrottle(Base):
    """Failed logins per username and client address; a full window locks that pair for a while."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<username>|<ip>"
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column()


class TemplateDraft(Base):
    """A proposed new wording for one language of a catalog template, written in the console.

    Drafts are never sendable, so the gate never reads this table: approving a draft writes it into the
    template's YAML file in config/templates (new version, status approved, approver), which stays the one
    source of truth the gate loads.
    """

    __tablename__ = "template_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2))
    base_version: Mapped[int | None] = mapped_column()  # the catalog version it was written against
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | approved | discarded
    created_at: Mapped[datetime] = mapped_column()
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_template_drafts_template_status", "template_id", "status"),)
