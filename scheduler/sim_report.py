"""Example message threads from a simulation: for each stage and language, one account's messages in order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from accord.bootstrap import Container
from core.delinquency import REMINDER_STAGES
from core.enums import Direction, MessageStatus, Stage
from core.send_window import zone
from storage.tables import Account, Cardholder, Message

_ORDER = [Stage.PRE_DUE, Stage.DPD_1_29, Stage.DPD_30_59, Stage.DPD_60_89, Stage.DPD_90_PLUS]
_SENT = (MessageStatus.SENT.value, MessageStatus.DELIVERED.value)


def example_threads(container: Container, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """One thread per (stage, language) that had a reminder sent: the account with the most messages wins."""
    threads = []
    with container.session_factory() as session:
        for stage in (s for s in _ORDER if s in REMINDER_STAGES):
            for language in ("zh", "en"):
                account_id = session.scalar(
                    select(Message.account_id)
                    .join(Cardholder, Cardholder.id == Message.cardholder_id)
                    .where(Message.template_id == f"reminder.{stage.value}", Message.status.in_(_SENT),
                           Cardholder.language == language, Message.created_at.between(start, end))
                    .group_by(Message.account_id)
                    .order_by(func.count().desc(), Message.account_id)
                    .limit(1)
                )
                if account_id is None:
                    continue
                account = session.get_one(Account, account_id)
                tz = zone(account.cardholder.timezone)
                messages = session.scalars(
                    select(Message)
                    .where(Message.account_id == account_id, Message.direction == Direction.OUTBOUND.value,
                           Message.status.in_(_SENT), Message.created_at.between(start, end))
                    .order_by(Message.created_at, Message.id)
                ).all()
                threads.append({
                    "stage": stage.value, "language": language, "account": account.external_id,
                    "timezone": account.cardholder.timezone,
                    "messages": [{
                        "local_time": (m.sent_at or m.created_at).astimezone(tz).isoformat(timespec="minutes")
                        if tz else (m.sent_at or m.created_at).isoformat(timespec="minutes"),
                        "template_id": m.template_id, "channel": m.channel, "text": m.text,
                    } for m in messages],
                })
    return threads
