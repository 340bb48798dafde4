"""What the simulator shows: demo cardholders to pick from, and each channel's thread as the phone saw it.

A phone only shows what reached it and what its owner typed. Blocked, deferred, queued or failed attempts are
Accord's internal record (the console shows them); here they are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.enums import Channel, Direction, MessageStatus
from storage.tables import Account, Cardholder, ContactPoint, Message

PICK_LIMIT = 50
THREAD_LIMIT = 200
VISIBLE_OUTBOUND = (MessageStatus.SENT.value, MessageStatus.DELIVERED.value)


@dataclass(frozen=True)
class CardholderRow:
    id: int
    external_id: str
    full_name: str
    language: str
    jurisdiction: str
    stage: str | None
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Bubble:
    mine: bool  # typed by the cardholder (right side) rather than received
    text: str
    local_time: str  # "11-23 10:05" in the cardholder's zone
    iso: str  # machine-readable instant for <time datetime>


@dataclass(frozen=True)
class Thread:
    channel: Channel
    address: str | None  # None: the cardholder has no contact point on this channel
    opted_out: bool
    bubbles: tuple[Bubble, ...]


def search_cardholders(session: Session, query: str = "", limit: int = PICK_LIMIT) -> list[CardholderRow]:
    stmt = select(Cardholder).order_by(Cardholder.id).limit(limit)
    query = query.strip()
    if query:
        pattern = f"%{_escape_like(query.lower())}%"
        stmt = stmt.where(
            or_(
                func.lower(Cardholder.full_name).like(pattern, escape="\\"),
                func.lower(Cardholder.external_id).like(pattern, escape="\\"),
            )
        )
    holders = list(session.scalars(stmt))
    ids = [h.id for h in holders]
    stage_of = _worst_stage(session, ids)
    channels: dict[int, list[str]] = {}
    for holder_id, channel in session.execute(
        select(ContactPoint.cardholder_id, ContactPoint.channel)
        .where(ContactPoint.cardholder_id.in_(ids))
        .order_by(ContactPoint.channel)
    ):
        channels.setdefault(holder_id, []).append(channel)
    return [
        CardholderRow(h.id, h.external_id, h.full_name, h.language, h.jurisdiction, stage_of.get(h.id),
                      tuple(channels.get(h.id, ())))
        for h in holders
    ]


def _worst_stage(session: Session, ids: list[int]) -> dict[int, str]:
    """The stage of each cardholder's most delinquent account."""
    worst: dict[int, tuple[int, str]] = {}
    for holder, dpd, stage in session.execute(
        select(Account.cardholder_id, Account.days_past_due, Account.stage).where(Account.cardholder_id.in_(ids))
    ):
        if holder not in worst or dpd > worst[holder][0]:
            worst[holder] = (dpd, stage)
    return {holder: stage for holder, (_dpd, stage) in worst.items()}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def phone_threads(session: Session, cardholder: Cardholder) -> dict[Channel, Thread]:
    zone = _zone(cardholder.timezone)
    points = {
        p.channel: p
        for p in session.scalars(
            select(ContactPoint).where(ContactPoint.cardholder_id == cardholder.id).order_by(ContactPoint.id)
        )
    }
    threads: dict[Channel, Thread] = {}
    for channel in Channel:
        point = points.get(channel.value)
        rows = _visible_messages(session, cardholder.id, channel)
        threads[channel] = Thread(
            channel=channel,
            address=point.address if point else None,
            opted_out=bool(point and point.opted_out_at),
            bubbles=tuple(_bubble(m, zone) for m in rows),
        )
    return threads


def _visible_messages(session: Session, cardholder_id: int, channel: Channel) -> list[Message]:
    newest_first = session.scalars(
        select(Message)
        .where(
            Message.cardholder_id == cardholder_id,
            Message.channel == channel.value,
            or_(
                Message.direction == Direction.INBOUND.value,
                Message.status.in_(VISIBLE_OUTBOUND),
            ),
        )
        .order_by(Message.created_at.desc(), Message.id.desc())
        .limit(THREAD_LIMIT)
    ).all()
    return list(reversed(newest_first))


def _bubble(message: Message, zone: ZoneInfo) -> Bubble:
    at: datetime = message.sent_at or message.created_at
    local = at.astimezone(zone)
    return Bubble(
        mine=message.direction == Direction.INBOUND.value,
        text=message.text,
        local_time=local.strftime("%m-%d %H:%M"),
        iso=local.isoformat(),
    )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
