"""The tamper-evident audit log: an append-only hash chain over `audit_events`.

Each record's hash is sha256(prev_hash + canonical JSON of the record), and `seq` increases by exactly one.
Appends serialise on the single `audit_head` row, inside the caller's transaction, so the event commits (or rolls
back) with the change it records. On PostgreSQL one statement locks the head row, chains and inserts the records
and advances it (concurrent appends wait for the holder's commit, then chain onto the new head); elsewhere, and
for the first append, `UPDATE audit_head SET seq = seq + n ... RETURNING` takes the lock (the database write lock
on SQLite) and Python hashes. Every append waits for the head, so callers append last, just before their commit;
`append_at_commit` queues an event for that moment.
The head also remembers the last seq and hash, so deleting records from the end of the log is detected too.

`verify` walks the chain and names the first record that was edited, deleted or reordered.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from compliance import pg_writes
from core.clock import Clock, ensure_utc
from storage.tables import AuditEvent, AuditHead

GENESIS = "0" * 64
HEAD_ID = 1
_HEAD = cast(Table, AuditHead.__table__)
_EVENTS = cast(Table, AuditEvent.__table__)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return ensure_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"audit payload value of type {type(value).__name__} is not JSON")


def normalise_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as it will read back from the database (plain JSON), so the hash is reproducible."""
    return json.loads(json.dumps(dict(payload), default=_plain, ensure_ascii=False))


def canonical(seq: int, occurred_at: datetime, actor: str, kind: str, subject_type: str, subject_id: str,
              payload: Mapping[str, Any], prev_hash: str) -> str:
    return _canonical_json(seq, occurred_at, actor, kind, subject_type, subject_id, payload, prev_hash)


def _canonical_json(seq: int | str, occurred_at: datetime, actor: str, kind: str, subject_type: str,
                    subject_id: str, payload: Mapping[str, Any], prev_hash: str) -> str:
    """The one layout of a record's canonical JSON; `canonical_pieces` passes markers where values come later."""
    record = {
        "seq": seq,
        "occurred_at": ensure_utc(occurred_at).isoformat(timespec="microseconds"),
        "actor": actor,
        "kind": kind,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "payload": payload,
        "prev_hash": prev_hash,
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# Stand-ins for the values only the database knows when it chains events itself (compliance.pg_writes): the
# previous hash and the seq always, and for the gate's decisions also the decision's id (in the payload) and the
# subject (message) id. Private-use characters, which a record may not contain where they are used (checked).
_LATE = {name: f"\ue000{name}\ue001" for name in ("decision_id", "prev_hash", "seq", "subject_id")}
_NUMBERS = ("decision_id", "seq")
_LATE_SPLIT = re.compile("(" + "|".join(re.escape(marker) for marker in _LATE.values()) + ")")


class NotChainableInDatabase(ValueError):
    """The record contains a character used to mark the values the database fills in."""


def canonical_pieces(occurred_at: datetime, actor: str, kind: str, subject_type: str, payload: Mapping[str, Any],
                     subject_id: str | None = None) -> list[str]:
    """The canonical JSON of a record (as `canonical` writes it) whose prev_hash and seq, and where `subject_id`
    is None also its subject id and its payload's `decision_id`, are filled in later: the literal pieces around
    those values, which stand in the order sorted keys put them in (decision_id, prev_hash, seq, subject_id).
    The numbers go in bare, the hash and the subject id inside the pieces' quotes. Pieces and values joined,
    prefixed by the previous hash, hash to what `record_hash` gives for the finished record."""
    ids_late = subject_id is None
    text = _canonical_json(_LATE["seq"], occurred_at, actor, kind, subject_type,
                           _LATE["subject_id"] if subject_id is None else subject_id,
                           {**payload, "decision_id": _LATE["decision_id"]} if ids_late else payload,
                           _LATE["prev_hash"])
    wanted = ("decision_id", "prev_hash", "seq", "subject_id") if ids_late else ("prev_hash", "seq")
    if text.count("\ue000") != len(wanted) or text.count("\ue001") != len(wanted):
        raise NotChainableInDatabase("the record contains the characters U+E000 or U+E001")
    for name in _NUMBERS:
        text = text.replace(f'"{_LATE[name]}"', _LATE[name])
    parts = _LATE_SPLIT.split(text)
    if tuple(parts[1::2]) != tuple(_LATE[name] for name in wanted):
        raise NotChainableInDatabase(f"unexpected layout of a canonical audit record: {parts[1::2]}")
    return parts[0::2]


def record_hash(prev_hash: str, canonical_json: str) -> str:
    return hashlib.sha256((prev_hash + canonical_json).encode("utf-8")).hexdigest()


def _hash_of(row: AuditEvent) -> str:
    body = canonical(row.seq, row.occurred_at, row.actor, row.kind, row.subject_type, row.subject_id,
                     row.payload, row.prev_hash)
    return record_hash(row.prev_hash, body)


# Built once: every decision appends, and building a statement costs more than running it.
_BUMP = (update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(seq=_HEAD.c.seq + bindparam("count"))
         .returning(_HEAD.c.seq, _HEAD.c.hash))
_SET_HASH = update(_HEAD).where(_HEAD.c.id == HEAD_ID).values(hash=bindparam("new_hash"))
_INSERT = insert(_EVENTS)


@dataclass(frozen=True, slots=True)
class Entry:
    """One event to append: who did what to which subject."""

    actor: str
    kind: str  # e.g. "consent.opted_out", "compliance.decision"
    subject_type: str
    subject_id: str | int
    payload: Mapping[str, Any]


def _advance_head(session: Session, count: int) -> tuple[int, str]:
    """Reserve `count` sequence numbers; returns the last one reserved and the hash the first must chain onto."""
    row = session.execute(_BUMP, {"count": count}).first()
    if row is None:
        _create_head(session)
        row = session.execute(_BUMP, {"count": count}).one()
    return int(row[0]), str(row[1])


def _create_head(session: Session) -> None:
    """First append ever (or after the tables were emptied): start the head where the log ends."""
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    values = {"id": HEAD_ID, "seq": int(last[0]) if last else 0, "hash": str(last[1]) if last else GENESIS}
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(_HEAD).values(**values).on_conflict_do_nothing(index_elements=["id"]))


def append(session: Session, actor: str, kind: str, subject_type: str, subject_id: str | int,
           payload: Mapping[str, Any], *, at: datetime) -> AuditEvent:
    """Append one event in the caller's transaction. `kind` e.g. "consent.opted_out", "compliance.decision"."""
    return AuditEvent(**append_many(session, [Entry(actor, kind, subject_type, subject_id, payload)], at=at)[0])


def append_at_commit(session: Session, entry: Entry, *, at: datetime) -> None:
    """Append an event in the caller's transaction as its last statement, just before the commit (or with the
    next `append_many` in it, so the events keep their order). A dialogue step records its event and then goes
    on writing and composing its answer; appending there would hold the head, which every audit append in
    Accord waits for, through all of that. A rolled-back transaction appends nothing."""
    frozen = Entry(entry.actor, entry.kind, entry.subject_type, entry.subject_id, normalise_payload(entry.payload))
    session.info.setdefault(_PENDING, []).append((frozen, ensure_utc(at)))  # as it reads now, not at the commit


_PENDING = "accord.audit.pending"


@event.listens_for(Session, "before_commit")
def _append_pending_before_commit(session: Session) -> None:
    if session.info.get(_PENDING):
        session.flush()  # the step's own writes first: the head is locked from the append to the commit only
        _append_pending(session)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended: committed (appended) or rolled back
        session.info.pop(_PENDING, None)


def _append_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None) or []
    start = 0
    for end in range(1, len(pending) + 1):  # one append per run of events stamped with the same time
        if end == len(pending) or pending[end][1] != pending[start][1]:
            _append_now(session, [entry for entry, _ in pending[start:end]], pending[start][1])
            start = end


def append_many(session: Session, entries: Sequence[Entry], *, at: datetime) -> list[dict[str, Any]]:
    """Append events in order, in the caller's transaction, holding the head row once for all of them: a batch
    of decisions costs one head update, not one each. Events waiting for the commit (`append_at_commit`) are
    appended first. Returns the rows written."""
    if session.info.get(_PENDING):
        _append_pending(session)
    return _append_now(session, entries, ensure_utc(at))


def _append_now(session: Session, entries: Sequence[Entry], at: datetime) -> list[dict[str, Any]]:
    if not entries:
        return []
    if session.get_bind().dialect.name == "postgresql":
        written = _append_in_database(session, entries, at)
        if written is not None:
            return written
    last_seq, prev_hash = _advance_head(session, len(entries))
    rows: list[dict[str, Any]] = []
    for seq, entry in enumerate(entries, start=last_seq - len(entries) + 1):
        clean = normalise_payload(entry.payload)
        subject = str(entry.subject_id)
        digest = record_hash(prev_hash, canonical(seq, at, entry.actor, entry.kind, entry.subject_type, subject,
                                                  clean, prev_hash))
        rows.append({"seq": seq, "occurred_at": at, "actor": entry.actor, "kind": entry.kind,
                     "subject_type": entry.subject_type, "subject_id": subject, "payload": clean,
                     "prev_hash": prev_hash, "hash": digest})
        prev_hash = digest
    if session.get_bind().dialect.name == "postgresql":
        pg_writes.insert_events(session, rows, prev_hash, HEAD_ID)  # one round trip while the head is held
    else:
        session.execute(_INSERT, rows)
        session.execute(_SET_HASH, {"new_hash": prev_hash})
    return rows


def _append_in_database(session: Session, entries: Sequence[Entry], at: datetime) -> list[dict[str, Any]] | None:
    """PostgreSQL: lock the head, chain and insert the events and advance the head in one statement, so the head,
    which every append waits for, is held from that statement to the commit and no longer. None (nothing written)
    where the head row does not exist yet or a record cannot be chained there; the caller appends the portable
    way then."""
    rows: list[dict[str, Any]] = []
    for entry in entries:
        clean, subject = normalise_payload(entry.payload), str(entry.subject_id)
        try:
            pieces = canonical_pieces(at, entry.actor, entry.kind, entry.subject_type, clean, subject)
        except NotChainableInDatabase:
            return None
        rows.append({"occurred_at": at, "actor": entry.actor, "kind": entry.kind, "subject_type": entry.subject_type,
                     "subject_id": subject, "payload": clean, "pieces": pieces})
    chained = pg_writes.append_events(session, rows, HEAD_ID)
    if chained is None:
        return None
    for row, (seq, prev_hash, digest) in zip(rows, chained, strict=True):
        del row["pieces"]
        row.update(seq=seq, prev_hash=prev_hash, hash=digest)
    return rows


class AuditLog:
    """`append` with the time taken from the injected clock (what the gate and services hold)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def append(self, session: Session, actor: str, kind: str, subject_type: str, subject_id: str | int,
               payload: Mapping[str, Any], *, at: datetime | None = None) -> AuditEvent:
        return append(session, actor, kind, subject_type, subject_id, payload, at=at or self._clock.now())

    def append_many(self, session: Session, entries: Sequence[Entry], *, at: datetime | None = None) -> None:
        append_many(session, entries, at=at or self._clock.now())


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head_seq: int
    head_hash: str
    problem: str | None = None
    record_id: int | None = None
    seq: int | None = None


def verify(session: Session) -> VerifyResult:
    """Walk the chain in seq order; report the first record that was edited, deleted or reordered."""
    prev_seq, prev_hash, count = 0, GENESIS, 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)).scalars()
    for row in rows:
        count += 1
        where = f"record id={row.id} seq={row.seq} ({row.kind}, {row.subject_type} {row.subject_id})"
        if _hash_of(row) != row.hash:
            return _broken(count, f"{where} does not match its hash: it was edited, or moved from another position",
                           row)
        if row.seq != prev_seq + 1:
            gap = f"seq {prev_seq + 1}" if row.seq == prev_seq + 2 else f"seq {prev_seq + 1}..{row.seq - 1}"
            return _broken(count, f"{gap} missing before {where}: records were deleted", row)
        if row.prev_hash != prev_hash:
            return _broken(count, f"{where} does not chain onto seq {prev_seq}: seq {prev_seq} was rewritten, "
                                  "or records were removed or reordered", row)
        prev_seq, prev_hash = row.seq, row.hash
    head = session.get(AuditHead, HEAD_ID)
    if head is None:
        if count:
            return VerifyResult(False, count, prev_seq, prev_hash, "the audit head row is missing: it was deleted")
        return VerifyResult(True, 0, 0, GENESIS)
    if head.seq != prev_seq or head.hash != prev_hash:
        if head.seq > prev_seq:
            problem = f"seq {prev_seq + 1}..{head.seq} missing at the end of the log: records were deleted"
        else:
            problem = f"the head (seq {head.seq}) does not match the last record (seq {prev_seq}): it was edited"
        return VerifyResult(False, count, int(head.seq), head.hash, problem, seq=prev_seq + 1)
    return VerifyResult(True, count, prev_seq, prev_hash)


def _broken(count: int, problem: str, row: AuditEvent) -> VerifyResult:
    return VerifyResult(False, count, row.seq, row.hash, problem, record_id=row.id, seq=row.seq)
