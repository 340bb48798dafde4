"""Inviting a cardholder to Telegram: issue a one-time link and queue it as an SMS to their registered phone.

The token and its outbox row are written in one transaction, and the dispatcher sends the SMS through the
compliance gate like any other message: contact hours, consent and caps apply, a quiet-hours deferral is retried,
and the rendered text is kept in the message log (the link works once and expires, so that copy is harmless).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot import binding
from bot.channels.telegram import telegram_channel
from core.enums import Channel, MessagePurpose
from scheduler.outbox import insert_new, outbox_row
from storage.db import transaction
from storage.tables import Cardholder

TEMPLATE = "binding.link"
PRIORITY = 10  # ahead of reminders: the person may be waiting for it


@dataclass(frozen=True)
class QueuedInvite:
    cardholder_id: int
    expires_at: datetime
    outbox_key: str


def bot_username(container: Any) -> str:
    configured = container.settings.telegram_bot_username
    if configured:
        return str(configured).lstrip("@")
    channel = telegram_channel(container)
    if channel is None:
        raise binding.BindingError("Telegram is not configured: set TELEGRAM_BOT_TOKEN (and TELEGRAM_BOT_USERNAME)")
    runtime = channel.runtime
    runtime.run(runtime.ensure_initialized(), timeout=runtime.request_timeout_s * 2)
    return str(runtime.bot.username)


def queue_invite(container: Any, external_id: str, *, ttl: timedelta = binding.DEFAULT_TTL) -> QueuedInvite:
    username = bot_username(container)
    now = container.clock.now()
    with transaction(container.session_factory) as session:
        invite = binding.issue(session, external_id, bot_username=username, at=now, ttl=ttl)
        language = session.scalar(select(Cardholder.language).where(Cardholder.id == invite.cardholder_id))
        key = f"binding:{invite.cardholder_id}:{binding.hash_token(invite.link)[:16]}"
        insert_new(session, [outbox_row(
            key=key, cardholder_id=invite.cardholder_id, account_id=None,
            contact_point_id=invite.sms_contact_point_id, channel=Channel.SMS.value,
            purpose=MessagePurpose.BINDING_LINK, template_id=TEMPLATE, language=language or "en",
            params={"binding_url": invite.link, "expires_hours": _hours(ttl)}, not_before=now, now=now,
            priority=PRIORITY,
        )])
    return QueuedInvite(invite.cardholder_id, invite.expires_at, key)


def _hours(ttl: timedelta) -> int:
    return max(1, round(ttl.total_seconds() / 3600))
