"""Message-log search with keyset pagination.

Pages are "the next N rows older than (created_at, id) of the last row seen", never OFFSET, so page 1,000 costs
the same as page 1. Each filter has an index ending in created_at (see storage/tables/conversations.py).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, literal, select, text, tuple_
from sqlalchemy.orm import Session

from storage.tables import Account, ComplianceDecision, Message
from storage.types import UTCDateTime


class SearchError(ValueError):
    pass


@dataclass(frozen=True)
class Filters:
    account: str = ""
    channel: str = ""
    date_from: date | None = None
    date_to: date | None = None
    direction: str = ""
    status: str = ""
    reason: str = ""
    template: str = ""
    officer: str = ""

    @classmethod
    def parse(cls, params: dict[str, str]) -> Filters:
        def day(name: str) -> date | None:
            value = params.get(name, "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise SearchError(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from exc

        return cls(account=params.get("account", "").strip(), channel=params.get("channel", "").strip(),
                   date_from=day("from"), date_to=day("to"), direction=params.get("direction", "").strip(),
                   status=params.get("status", "").strip(), reason=params.get("reason", "").strip(),
                   template=params.get("template", "").strip(), officer=params.get("officer", "").strip())

    def query_args(self) -> dict[str, str]:
        pairs = {"account": self.account, "channel": self.channel, "direction": self.direction,
                 "status": self.status, "reason": self.reason, "template": self.template, "officer": self.officer,
                 "from": self.date_from.isoformat() if self.date_from else "",
                 "to": self.date_to.isoformat() if self.date_to else ""}
        return {k: v for k, v in pairs.items() if v}


@dataclass(frozen=True)
class Row:
    id: int
    created_at: datetime
    account: str | None
    channel: str
    direction: str
    status: str
    author: str
    template: str | None
    reasons: tuple[str, ...]
    text: str
    decision_id: int | None


def encode_cursor(at: datetime, message_id: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{message_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, _, ident = raw.partition("|")
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed, int(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SearchError("the page cursor is not valid; start from the first page") from exc


def _reason_clause(dialect: str) -> Any:
    if dialect == "postgresql":
        return text("compliance_decisions.reasons @> CAST(:reason_json AS jsonb)")
    return text("EXISTS (SELECT 1 FROM json_each(compliance_decisions.reasons) WHERE json_each.value = :reason)")


def build_query(f: Filters, dialect: str, limit: int, cursor: tuple[datetime, int] | None) -> Select[Any]:
    q = (select(Message.id, Message.created_at, Account.external_id, Message.channel, Message.direction,
                Message.status, Message.author, Message.template_id, Message.template_version,
                ComplianceDecision.reasons, Message.text, Message.decision_id)
         .outerjoin(Account, Account.id == Message.account_id)
         .outerjoin(ComplianceDecision, ComplianceDecision.id == Message.decision_id))
    if f.account:
        q = q.where(Message.account_id == select(Account.id).where(Account.external_id == f.account)
                    .scalar_subquery())
    for column, value in ((Message.channel, f.channel), (Message.direction, f.direction),
                          (Message.status, f.status), (Message.template_id, f.template)):
        if value:
            q = q.where(column == value)
    if f.officer:
        q = q.where(Message.author == f"officer:{f.officer}")
    if f.date_from:
        q = q.where(Message.created_at >= datetime.combine(f.date_from, time(0), UTC))
    if f.date_to:
        q = q.where(Message.created_at < datetime.combine(f.date_to + timedelta(days=1), time(0), UTC))
    if f.reason:
        q = q.where(Message.decision_id.is_not(None), _reason_clause(dialect))
    if cursor is not None:
        at, ident = cursor
        q = q.where(tuple_(Message.created_at, Message.id) < tuple_(literal(at, UTCDateTime()), literal(ident)))
    return q.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit + 1)


def search(s: Session, f: Filters, limit: int, cursor: str | None = None) -> tuple[list[Row], str | None]:
    """One page, newest first, and the cursor of the next page (None on the last)."""
    dialect = s.get_bind().dialect.name
    q = build_query(f, dialect, limit, decode_cursor(cursor) if cursor else None)
    params = {"reason": f.reason, "reason_json": f'["{_json_escape(f.reason)}"]'} if f.reason else {}
    rows = s.execute(q, params).all()
    page = [
        Row(id=r[0], created_at=r[1], account=r[2], channel=r[3], direction=r[4], status=r[5], author=r[6],
            template=f"{r[7]}@{r[8]}" if r[7] else None, reasons=tuple(r[9] or ()), text=r[10], decision_id=r[11])
        for r in rows[:limit]
    ]
    more = len(rows) > limit
    return page, encode_cursor(page[-1].created_at, page[-1].id) if more and page else None


def _json_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')

