"""Provider delivery reports applied to outbound message rows (Twilio status callbacks).

Callbacks can arrive out of order ("sent" after "delivered") and more than once, so a status only moves
forward, and a final one (delivered, failed) is never overwritten. Error codes about the recipient act on the
contact point, as compliance.provider_errors lists them: 21610 means the person unsubscribed at the carrier (an
opt-out, recorded like a STOP), and 21211 / 21614 mean the number cannot receive texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels.twilio_sms import STATUS_MAP
from compliance import consent
from compliance.provider_errors import INVALID_ADDRESS_CODES, OPT_OUT_CODES
from core.enums import Direction, MessageStatus, OptOutMethod
from storage.tables import Message

# How far along a message is; a report never moves a message backwards.
RANK = {
    MessageStatus.REVIEW.value: 0,  # outcome unknown after a crash: any report from the provider settles it
    MessageStatus.QUEUED.value: 1,
    MessageStatus.SENDING.value: 2,
    MessageStatus.SENT.value: 3,
    MessageStatus.DELIVERED.value: 4,
    MessageStatus.FAILED.value: 4,
}


class StatusApplied(StrEnum):
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # a stale or repeated report
    UNKNOWN_MESSAGE = "unknown_message"
    UNKNOWN_STATUS = "unknown_status"


@dataclass(frozen=True)
class StatusResult:
    applied: StatusApplied
    message_id: int | None = None
    status: str | None = None
    opted_out: bool = False


def apply_twilio_status(
    session: Session, *, provider_message_id: str, provider_status: str, error_code: str | None, at: datetime
) -> StatusResult:
    status = STATUS_MAP.get(provider_status.strip().lower())
    if status is None:
        return StatusResult(StatusApplied.UNKNOWN_STATUS)
    message = session.scalars(
        select(Message)
        .where(Message.provider_message_id == provider_message_id, Message.direction == Direction.OUTBOUND.value)
        .with_for_update()
    ).first()
    if message is None:
        return StatusResult(StatusApplied.UNKNOWN_MESSAGE)
    opted_out = False
    if error_code:
        opted_out = _act_on_recipient(session, message, error_code, at)
    current = RANK.get(message.status)
    if current is None or current >= RANK[status]:
        return StatusResult(StatusApplied.UNCHANGED, message.id, message.status, opted_out)
    message.status = status
    if status == MessageStatus.DELIVERED.value:
        message.delivered_at = at
    if status == MessageStatus.FAILED.value:
        message.error_code = (error_code or provider_status)[:32]
    return StatusResult(StatusApplied.UPDATED, message.id, status, opted_out)


def _act_on_recipient(session: Session, message: Message, error_code: str, at: datetime) -> bool:
    """The same codes mean the same thing whether Twilio refuses at send time (the gate records those) or
    reports them later in a callback (recorded here)."""
    if message.contact_point_id is None:
        return False
    if error_code in OPT_OUT_CODES:
        return consent.record_opt_out(session, message.contact_point_id, OptOutMethod.CARRIER, at=at,
                                      actor="twilio", source_message_id=message.id)
    reason = INVALID_ADDRESS_CODES.get(error_code)
    if reason is not None:
        consent.mark_contact_point_invalid(session, message.contact_point_id, reason, at=at, actor="twilio")
    return False
