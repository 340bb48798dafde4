"""Planned messages that lost their reason between planning and sending: the account paid, moved stage or
paused; the promise was kept; the installment was paid."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from accord.bootstrap import Container
from core.enums import InstallmentStatus, MessagePurpose, PromiseStatus
from scheduler.claim import ClaimedRow
from scheduler.templates import INSTALLMENT_REMINDER, PROMISE_FOLLOW_UP
from storage.tables import Account, Installment, Promise


def stale_rows(container: Container, rows: Sequence[ClaimedRow]) -> dict[int, str]:
    """Outbox row id -> why it should not go out. Compliance reasons are the gate's; these are the plan's."""
    stale: dict[int, str] = {}
    reminders = [r for r in rows if r.purpose == MessagePurpose.REMINDER.value and r.account_id is not None]
    promised = {r.id: r.params["promise_id"] for r in rows
                if r.template_id == PROMISE_FOLLOW_UP and (r.params or {}).get("promise_id")}
    installments = {r.id: r.params["installment_id"] for r in rows
                    if r.template_id == INSTALLMENT_REMINDER and (r.params or {}).get("installment_id")}
    if not (reminders or promised or installments):
        return stale
    with container.engine.connect() as conn:
        accounts = {row.id: row for row in conn.execute(
            select(Account.id, Account.stage, Account.reminders_paused_reason)
            .where(Account.id.in_({r.account_id for r in reminders}))
        )} if reminders else {}
        open_promises = set(conn.scalars(select(Promise.id).where(
            Promise.id.in_(set(promised.values())), Promise.status == PromiseStatus.OPEN.value))) if promised else set()
        scheduled = set(conn.scalars(select(Installment.id).where(
            Installment.id.in_(set(installments.values())),
            Installment.status == InstallmentStatus.SCHEDULED.value))) if installments else set()
    for row in reminders:
        account = accounts.get(row.account_id)
        if account is None:
            stale[row.id] = "account_gone"
        elif account.reminders_paused_reason is not None:
            stale[row.id] = f"reminders_paused:{account.reminders_paused_reason}"
        elif (row.params or {}).get("stage") not in (None, account.stage):
            stale[row.id] = f"stage_changed:{account.stage}"
    stale.update({row_id: "promise_no_longer_open" for row_id, pid in promised.items() if pid not in open_promises})
    stale.update({row_id: "installment_no_longer_due" for row_id, iid in installments.items() if iid not in scheduled})
    return stale
