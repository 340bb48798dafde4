"""Planning one follow-up message for an account (thanks, promise and installment messages)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from compliance.packs import PackRegistry
from core.contact_choice import choose_contact
from core.enums import MessagePurpose
from core.send_window import earliest_send, zone
from scheduler.config import SchedulerConfig
from scheduler.contacts import contact_options
from scheduler.outbox import insert_new, outbox_row
from scheduler.protection_filter import blocked_for_person
from storage.tables import Account


def plan_account_message(
    session: Session,
    account: Account,
    *,
    purpose: MessagePurpose,
    template_id: str,
    key: str,
    params: dict[str, Any],
    now: datetime,
    config: SchedulerConfig,
    packs: PackRegistry,
) -> bool:
    """Queue one message to the account's cardholder; False when nothing was queued (no usable contact point,
    a protective state whose matrix blocks the purpose, or the same key planned before). The gate still decides at send time."""
    holder = account.cardholder
    if blocked_for_person(session, packs.get(holder.jurisdiction), holder.id, purpose, now) is not None:
        return False
    policy = config.sweep
    options = contact_options(session, [holder.id]).get(holder.id, [])
    contact = choose_contact(options, policy.followup_channels, frozenset(policy.consent_required))
    if contact is None:
        return False
    tz = zone(holder.timezone)
    not_before = earliest_send(now, tz, policy.send_window.start, policy.send_window.end) if tz else now
    row = outbox_row(
        key=key, cardholder_id=holder.id, account_id=account.id, contact_point_id=contact.contact_point_id,
        channel=contact.channel.value, purpose=purpose, template_id=template_id, language=holder.language,
        params={"currency": account.currency, **params}, not_before=not_before, now=now, priority=policy.priority,
    )
    return insert_new(session, [row]) == 1
