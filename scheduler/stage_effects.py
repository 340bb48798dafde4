"""What follows a stage change: the history row, cancelled reminders, a thank-you, an officer for the final stage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.bootstrap import Container
from accord.policy_packs import policy_packs
from compliance import audit
from core.cadence import thanks_key
from core.enums import EscalationReason, EscalationStatus, MessagePurpose
from scheduler.outbox import cancel_pending
from scheduler.planning import plan_account_message
from scheduler.runtime import scheduler_config
from scheduler.templates import PAYMENT_THANKS
from storage.tables import Account, Escalation, StageChange


class StageEffects:
    def __init__(self, container: Container, now: datetime) -> None:
        self.now = now
        self.rules = container.stages.rules()
        self.config = scheduler_config(container)
        self.packs = policy_packs(container)

    def record_change(self, session: Session, account: Account, old: str, new: str, dpd: int) -> None:
        session.add(StageChange(account_id=account.id, from_stage=old, to_stage=new, days_past_due=dpd,
                                changed_at=self.now))
        audit.append(session, "scheduler", "account.stage_changed", "account", account.id,
                     {"from": old, "to": new, "days_past_due": dpd}, at=self.now)
        account.stage = new
        account.stage_changed_at = self.now
        account.touches_in_stage = 0  # a new stage starts a new cadence

    def cancel_reminders(self, session: Session, account_id: int, reason: str) -> int:
        """Queued reminders speak in the old stage's tone (or to a paid account): none of them should go out."""
        return cancel_pending(session, [account_id], [MessagePurpose.REMINDER], reason, self.now)

    def thank(self, session: Session, account: Account) -> bool:
        """Queue payment.thanks if policy asks for it (and the cardholder can be reached)."""
        if not self.config.staging.thank_on_current:
            return False
        return plan_account_message(
            session, account, purpose=MessagePurpose.PAYMENT_THANKS, template_id=PAYMENT_THANKS,
            key=thanks_key(account.id, account.due_date), params={"balance_minor": account.balance_minor},
            now=self.now, config=self.config, packs=self.packs,
        )

    def open_final_escalation(self, session: Session, account: Account, dpd: int) -> bool:
        """Once per final-stage episode: an officer takes over the legal track."""
        if account.id in self.accounts_with_final_escalation(session, [account]):
            return False
        escalation = Escalation(
            cardholder_id=account.cardholder_id, account_id=account.id, reason=EscalationReason.FINAL_STAGE.value,
            priority=self.config.staging.final_stage_escalation_priority, status=EscalationStatus.OPEN.value,
            detail={"stage": account.stage, "days_past_due": dpd}, created_at=self.now,
        )
        session.add(escalation)
        session.flush()
        audit.append(session, "scheduler", "escalation.opened", "escalation", escalation.id,
                     {"reason": EscalationReason.FINAL_STAGE.value, "account_id": account.id,
                      "days_past_due": dpd}, at=self.now)
        return True

    def accounts_with_final_escalation(self, session: Session, accounts: Sequence[Any]) -> set[int]:
        """Of these accounts, those whose current stage episode already has its final-stage escalation, or that
        still have one an officer has not resolved. The open one counts whenever it was made: a clock behind the
        recorded stage change (a replay of a period before the portfolio was loaded, a lagging machine) would
        otherwise open another escalation at every staging run."""
        entered = {a.id: a.stage_changed_at for a in accounts}
        rows = session.execute(
            select(Escalation.account_id, Escalation.created_at, Escalation.status).where(
                Escalation.account_id.in_(list(entered)),
                Escalation.reason == EscalationReason.FINAL_STAGE.value,
            )
        ).all()
        covered = set()
        for account_id, created_at, status in rows:
            since = entered.get(account_id)
            if since is None or created_at >= since or status != EscalationStatus.RESOLVED.value:
                covered.add(account_id)
        return covered
