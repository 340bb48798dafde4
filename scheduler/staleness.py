"""Reminders that lost their reason between planning and sending: the account paid, moved stage or paused."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from accord.bootstrap import Container
from core.enums import MessagePurpose
from scheduler.claim import ClaimedRow
from storage.tables import Account


def stale_reminders(container: Container, rows: Sequence[ClaimedRow]) -> dict[int, str]:
    """Outbox row id -> why it should not go out. Compliance reasons are the gate's; these are the plan's."""
    reminders = [r for r in rows if r.purpose == MessagePurpose.REMINDER.value and r.account_id is not None]
    if not reminders:
        return {}
    with container.engine.connect() as conn:
        accounts = {
            row.id: row
            for row in conn.execute(
                select(Account.id, Account.stage, Account.reminders_paused_reason).where(
                    Account.id.in_({r.account_id for r in reminders})
                )
            )
        }
    stale: dict[int, str] = {}
    for row in reminders:
        account = accounts.get(row.account_id)
        if account is None:
            stale[row.id] = "account_gone"
        elif account.reminders_paused_reason is not None:
            stale[row.id] = f"reminders_paused:{account.reminders_paused_reason}"
        elif (row.params or {}).get("stage") not in (None, account.stage):
            stale[row.id] = f"stage_changed:{account.stage}"
    return stale
