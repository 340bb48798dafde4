"""The inbound file of `accord simulate --inbound FILE`: cardholders' messages to replay, checked as a whole first.

    time,external_id,channel,text
    2026-11-24T09:12:00+08:00,DEMO-0001,sms,STOP

`time` is an ISO-8601 instant with an offset inside --from/--to; `external_id` is the account's (what the bank
knows; a cardholder's external id is accepted too); `channel` is sms or telegram and the cardholder must have an
address on it, which the message is sent from; `text` is the message, UTF-8. Rows may be in any order (they are
replayed in time order). Like the portfolio import, every bad row is named by line and column before anything is
replayed, and no cell's value is repeated in a problem: the file holds what cardholders wrote.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.portfolio.errors import ImportRejected, RowError
from accord.portfolio.reader import data_rows, decode
from bot.inbound_types import MAX_TEXT_CHARS
from core.enums import Channel
from storage.tables import Account, Cardholder, ContactPoint

COLUMNS = ("time", "external_id", "channel", "text")
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class ScriptedInbound:
    """One message to replay, resolved to the address the cardholder has registered on its channel."""

    line: int
    at: datetime
    cardholder_id: int
    channel: Channel
    address: str
    text: str


class InboundFileRejected(Exception):
    """The inbound file was refused as a whole; nothing was replayed. `errors` lists every problem found."""

    def __init__(self, errors: list[RowError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.line, e.column or ""))
        rows = len({e.line for e in self.errors if e.line > 1})
        summary = f"{rows} bad row(s), {len(self.errors)} problem(s)" if rows else (
            f"{len(self.errors)} problem(s) with the file")
        super().__init__(f"{summary}; nothing was replayed")


def read_inbound(path: Path, sessions: sessionmaker[Session], start: datetime,
                 end: datetime) -> list[ScriptedInbound]:
    """Every row checked, then the messages in time order (file order among equal times)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InboundFileRejected([RowError(0, None, f"{path} does not exist")]) from None
    except IsADirectoryError:
        raise InboundFileRejected([RowError(0, None, f"{path} is a directory, not a CSV file")]) from None
    try:
        text = decode(data)
    except ImportRejected as exc:
        raise InboundFileRejected(exc.errors) from None
    rows, errors = _split(text)
    parsed: list[tuple[int, datetime | None, str, Channel | None, str]] = []
    for line, cells in rows:
        at = _time(line, cells["time"], start, end, errors)
        channel = _channel(line, cells["channel"], errors)
        external_id = cells["external_id"].strip()
        if not external_id:
            errors.append(RowError(line, "external_id", "is empty"))
        body = cells["text"]
        if not body.strip():
            errors.append(RowError(line, "text", "is empty"))
        elif len(body) > MAX_TEXT_CHARS:
            errors.append(RowError(line, "text", f"is longer than {MAX_TEXT_CHARS} characters"))
        elif "\x00" in body:
            errors.append(RowError(line, "text", "contains a NUL character"))
        parsed.append((line, at, external_id, channel, body))
    holders = _cardholders(sessions, sorted({external_id for _, _, external_id, _, _ in parsed if external_id}))
    addresses = _addresses(sessions, sorted(set(holders.values())))
    messages: list[ScriptedInbound] = []
    for line, at, external_id, channel, body in parsed:
        holder = holders.get(external_id)
        if external_id and holder is None:
            errors.append(RowError(line, "external_id", "no account or cardholder has this external id"))
        address = addresses.get((holder, channel.value)) if holder is not None and channel is not None else None
        if holder is not None and channel is not None and address is None:
            errors.append(RowError(line, "channel", f"the cardholder has no {channel.value} address"))
        if at is not None and holder is not None and channel is not None and address is not None:
            messages.append(ScriptedInbound(line, at, holder, channel, address, body))
    if errors:
        raise InboundFileRejected(errors)
    return sorted(messages, key=lambda m: (m.at, m.line))


def _split(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[RowError]]:
    if not text.strip():
        raise InboundFileRejected([RowError(0, None, "the file is empty; expected the header "
                                                     f"{','.join(COLUMNS)} and data rows")])
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except csv.Error as exc:
        raise InboundFileRejected([RowError(1, None, f"the header line is not valid CSV: {exc}")]) from None
    missing = [name for name in COLUMNS if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown or len(set(header)) != len(header):
        problems = [RowError(1, name, "missing column") for name in missing]
        problems += [RowError(1, name or "(empty)", "unknown column") for name in unknown]
        if not problems:
            problems = [RowError(1, None, "a column is named twice")]
        problems.append(RowError(1, None, f"the header must be {','.join(COLUMNS)}"))
        raise InboundFileRejected(problems)
    rows, errors = data_rows(reader, header)
    if not rows and not errors:
        raise InboundFileRejected([RowError(0, None, "the file has a header but no data rows")])
    return rows, errors


def _time(line: int, value: str, start: datetime, end: datetime, errors: list[RowError]) -> datetime | None:
    try:
        at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        errors.append(RowError(line, "time", "is not an ISO-8601 date-time (e.g. 2026-11-24T09:12:00+08:00)"))
        return None
    if at.tzinfo is None:
        errors.append(RowError(line, "time", "has no UTC offset; write e.g. 2026-11-24T09:12:00+08:00 or ...Z"))
        return None
    if at < start:
        errors.append(RowError(line, "time", f"is before --from {start.isoformat()}"))
        return None
    if at > end:
        errors.append(RowError(line, "time", f"is after --to {end.isoformat()}"))
        return None
    return at


def _channel(line: int, value: str, errors: list[RowError]) -> Channel | None:
    try:
        return Channel(value.strip().lower())
    except ValueError:
        errors.append(RowError(line, "channel", f"must be one of {', '.join(c.value for c in Channel)}"))
        return None


def _cardholders(sessions: sessionmaker[Session], external_ids: list[str]) -> dict[str, int]:
    """external id -> cardholder id: the account's external id first, else a cardholder's."""
    found: dict[str, int] = {}
    with sessions() as session:
        for i in range(0, len(external_ids), _CHUNK):
            chunk = external_ids[i:i + _CHUNK]
            found.update({external_id: holder for external_id, holder in session.execute(
                select(Cardholder.external_id, Cardholder.id).where(Cardholder.external_id.in_(chunk)))})
            found.update({external_id: holder for external_id, holder in session.execute(
                select(Account.external_id, Account.cardholder_id).where(Account.external_id.in_(chunk)))})
    return found


def _addresses(sessions: sessionmaker[Session], cardholder_ids: list[int]) -> dict[tuple[int, str], str]:
    """(cardholder, channel) -> the address a message on that channel comes from: an active one first, then the
    preferred, then the oldest."""
    found: dict[tuple[int, str], str] = {}
    with sessions() as session:
        for i in range(0, len(cardholder_ids), _CHUNK):
            points = session.execute(
                select(ContactPoint.cardholder_id, ContactPoint.channel, ContactPoint.address)
                .where(ContactPoint.cardholder_id.in_(cardholder_ids[i:i + _CHUNK]))
                .order_by((ContactPoint.status != "active"), ContactPoint.preferred.desc(), ContactPoint.id))
            for holder, channel, address in points:
                found.setdefault((holder, channel), address)
    return found
