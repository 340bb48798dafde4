"""protective states: one model for attorney, bankruptcy, dispute, deceased, distress, vulnerability, cease,
stop-all-contact, channel opt-out, payment claimed and third party on an address

Existing do-not-contact, cease and vulnerable flags, opt-outs, third-party conversations and paused reminders for
a dispute or a payment claim become rows, so nothing a cardholder said is forgotten by the upgrade.

Revision ID: 5e8b1f0c3a27
Revises: 9c41e7a2d5b3
Create Date: 2026-12-03 12:15:00
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '5e8b1f0c3a27'
down_revision: str | None = '9c41e7a2d5b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DNC = {"attorney_represented": "attorney", "bankruptcy": "bankruptcy", "dispute_pending": "dispute",
        "deceased": "deceased"}


def upgrade() -> None:
    states = op.create_table(
        'protective_states',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cardholder_id', sa.Integer(), nullable=False),
        sa.Column('contact_point_id', sa.Integer(), nullable=True),
        sa.Column('account_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('set_by', sa.String(length=16), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('set_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('evidence', storage.types.JSONDoc(), nullable=False),
        sa.Column('review_on', sa.Date(), nullable=True),
        sa.Column('lifted_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('lifted_by', sa.String(length=64), nullable=True),
        sa.Column('lift_outcome', sa.String(length=32), nullable=True),
        sa.Column('lift_reason', sa.Text(), nullable=True),
        sa.Column('decided_at', storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_protective_states_account_id_accounts'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['cardholder_id'], ['cardholders.id'],
                                name=op.f('fk_protective_states_cardholder_id_cardholders'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['contact_point_id'], ['contact_points.id'],
                                name=op.f('fk_protective_states_contact_point_id_contact_points'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_protective_states')),
    )
    op.create_index('ix_protective_states_cardholder_status', 'protective_states', ['cardholder_id', 'status'])
    op.create_index('ix_protective_states_contact_point', 'protective_states', ['contact_point_id'])
    op.bulk_insert(states, list(_existing_states()))
    # A plain DROP COLUMN, never a batch rebuild: rebuilding `cardholders` on SQLite (whose connections enforce
    # foreign keys) would drop the table and cascade the delete to every account, address and state.
    for column in ('do_not_contact', 'do_not_contact_at', 'cease_requested_at', 'vulnerable'):
        op.drop_column('cardholders', column)
    op.execute("UPDATE accounts SET reminders_paused_reason = NULL "
               "WHERE reminders_paused_reason IN ('dispute', 'payment_claimed')")


def _existing_states():  # type: ignore[no-untyped-def]
    bind = op.get_bind()
    now = datetime.now(UTC)

    def row(holder: int, kind: str, at: object, reason: str, *, point: int | None = None,
            account: int | None = None) -> dict[str, object]:
        when = _aware(at) or now
        return {"cardholder_id": holder, "contact_point_id": point, "account_id": account, "kind": kind,
                "status": "active", "set_by": "bank_import", "actor": "migration", "set_at": when,
                "reason": reason, "evidence": {"migrated_from": reason}, "updated_at": now}

    for holder, dnc, at, cease, vulnerable, updated in bind.execute(sa.text(
            "SELECT id, do_not_contact, do_not_contact_at, cease_requested_at, vulnerable, updated_at "
            "FROM cardholders WHERE do_not_contact IS NOT NULL OR cease_requested_at IS NOT NULL "
            "OR vulnerable")):
        if dnc in _DNC:
            yield row(holder, _DNC[dnc], at, f"do_not_contact={dnc}")
        if cease is not None:
            yield row(holder, "cease", cease, "cease_requested_at")
        if vulnerable:
            yield row(holder, "vulnerability", updated, "vulnerable flag")
    for point, holder, at, method in bind.execute(sa.text(
            "SELECT id, cardholder_id, opted_out_at, opted_out_method FROM contact_points "
            "WHERE opted_out_at IS NOT NULL")):
        yield row(holder, "channel_opt_out", at, f"opted out ({method})", point=point)
    for holder, point, at in bind.execute(sa.text(
            "SELECT cardholder_id, contact_point_id, MAX(last_message_at) FROM conversations WHERE third_party "
            "GROUP BY cardholder_id, contact_point_id")):
        yield row(holder, "third_party", at, "conversation marked third party", point=point)
    for account, holder, reason, at in bind.execute(sa.text(
            "SELECT id, cardholder_id, reminders_paused_reason, updated_at FROM accounts "
            "WHERE reminders_paused_reason IN ('dispute', 'payment_claimed')")):
        yield row(holder, reason, at, f"reminders paused: {reason}", account=account)


def _aware(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands timestamps back as text
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def downgrade() -> None:
    op.add_column('cardholders', sa.Column('do_not_contact', sa.String(length=32), nullable=True))
    op.add_column('cardholders', sa.Column('do_not_contact_at', storage.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column('cardholders', sa.Column('cease_requested_at', storage.types.UTCDateTime(timezone=True), nullable=True))
    op.add_column('cardholders', sa.Column('vulnerable', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.drop_index('ix_protective_states_contact_point', table_name='protective_states')
    op.drop_index('ix_protective_states_cardholder_status', table_name='protective_states')
    op.drop_table('protective_states')
