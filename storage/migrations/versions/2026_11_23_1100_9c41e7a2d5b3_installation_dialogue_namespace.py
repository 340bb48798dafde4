"""installation: the database's dialogue namespace

Revision ID: 9c41e7a2d5b3
Revises: 4d2a2e63c707
Create Date: 2026-11-23 11:00:00
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '9c41e7a2d5b3'
down_revision: str | None = '4d2a2e63c707'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    installation = op.create_table(
        'installation',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('dialogue_namespace', sa.String(length=32), nullable=True),
        sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_installation_single_row')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_installation')),
    )
    # A database that already holds conversations keeps bare conversation ids as dialogue senders: its
    # conversations' trackers are stored under them. Every other database gets a namespace of its own.
    had_conversations = op.get_bind().execute(sa.text("SELECT 1 FROM conversations LIMIT 1")).first() is not None
    namespace = None if had_conversations else secrets.token_hex(6)
    op.bulk_insert(installation, [{"id": 1, "dialogue_namespace": namespace, "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table('installation')
