"""The gate's writes on PostgreSQL as single statements over arrays (`unnest`), whatever the batch size.

Every bot reply, officer reply and reminder waits on these round trips while the cardholder's ledger row (and, for
the audit chain, the head row) is locked, so they are folded together:
  - a batch's decisions, their messages, the outbox links, the contact-ledger counts and the reservation of
    their audit sequence numbers on the chain head: one statement;
  - a batch's audit events and the chain head's new hash: one statement (after the head is advanced);
  - the sent messages' marks and the advance of the head for their audit events: one statement.
The statement text never changes with the batch size, so PostgreSQL prepares it once per connection, where a
multi-row VALUES list is a new, longer statement for the driver to parse every time.

Row order: the rows are inserted in input order (`ORDER BY n`), so their serial ids ascend in that order; the
messages are joined back to their inputs by that rank (the same reliance on ascending serial ids that
SQLAlchemy's ordered bulk INSERT makes on PostgreSQL).

SQLite takes the portable executemany path in gate_records.py and audit.py; both paths write the same rows,
and the gate tests run on both backends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.clock import ensure_utc

# Built once from fixed column lists; no outside input reaches the statement text. Whitespace is squeezed out
# so the text stays under psycopg's 4 KB limit for caching a parsed statement.
_DECIDE = text(" ".join("""
WITH input AS (
    SELECT * FROM unnest(
        CAST(:outcome AS text[]), CAST(:rule AS text[]), CAST(:reasons AS text[]), CAST(:checks AS text[]),
        CAST(:policy_pack AS text[]), CAST(:policy_version AS text[]), CAST(:counters AS text[]),
        CAST(:timezone AS text[]), CAST(:local_time AS text[]), CAST(:defer_until AS timestamptz[]),
        CAST(:cardholder_id AS bigint[]), CAST(:account_id AS bigint[]), CAST(:conversation_id AS bigint[]),
        CAST(:contact_point_id AS bigint[]), CAST(:channel AS text[]), CAST(:status AS text[]),
        CAST(:purpose AS text[]), CAST(:author AS text[]), CAST(:template_id AS text[]),
        CAST(:template_version AS bigint[]), CAST(:language AS text[]), CAST(:body AS text[]),
        CAST(:counts AS boolean[]), CAST(:outbox_id AS bigint[])
    ) WITH ORDINALITY AS i(outcome, rule, reasons, checks, policy_pack, policy_version, counters, timezone,
                           local_time, defer_until, cardholder_id, account_id, conversation_id, contact_point_id,
                           channel, status, purpose, author, template_id, template_version, language, body,
                           counts, outbox_id, n)
), decisions AS (
    INSERT INTO compliance_decisions (outcome, rule, reasons, checks, policy_pack, policy_version, counters,
                                      timezone, local_time, defer_until, decided_at)
    SELECT outcome, rule, CAST(reasons AS jsonb), CAST(checks AS jsonb), policy_pack, policy_version,
           CAST(counters AS jsonb), timezone, local_time, defer_until, :now
    FROM input ORDER BY n
    RETURNING id
), decided AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM decisions
), messages AS (
    INSERT INTO messages (cardholder_id, account_id, conversation_id, contact_point_id, channel, direction, status,
                          purpose, author, template_id, template_version, language, text, created_at, decision_id,
                          counts_toward_cap)
    SELECT i.cardholder_id, i.account_id, i.conversation_id, i.contact_point_id, i.channel, 'outbound', i.status,
           i.purpose, i.author, i.template_id, i.template_version, i.language, i.body, :now, d.id, i.counts
    FROM input i JOIN decided d ON d.n = i.n
    ORDER BY i.n
    RETURNING id, decision_id
), linked AS (
    UPDATE outbox SET message_id = m.id
    FROM messages m JOIN decided d ON d.id = m.decision_id JOIN input i ON i.n = d.n
    WHERE outbox.id = i.outbox_id
), counted AS (
    SELECT cardholder_id, count(*) AS k, bool_or(first) AS first
    FROM unnest(CAST(:ledger_holder AS bigint[]), CAST(:ledger_first AS boolean[])) AS c(cardholder_id, first)
    GROUP BY cardholder_id
), ledger AS (
    UPDATE contact_ledger l SET contacts_total = l.contacts_total + c.k, last_contact_at = :now,
        first_disclosure_at = CASE WHEN c.first THEN :now ELSE l.first_disclosure_at END
    FROM counted c WHERE l.cardholder_id = c.cardholder_id
), head AS (
    UPDATE audit_head SET seq = seq + :audit_count WHERE id = :audit_head RETURNING seq, hash
)
SELECT m.id, m.decision_id, head.seq, head.hash FROM messages m LEFT JOIN head ON true ORDER BY m.id
""".split()))

_MARK_SENT = text(" ".join("""
WITH sent AS (
    UPDATE messages SET status = 'sent', provider_message_id = s.provider_id, sent_at = :at
    FROM unnest(CAST(:message AS bigint[]), CAST(:provider_id AS text[])) AS s(message, provider_id)
    WHERE messages.id = s.message
)
UPDATE audit_head SET seq = seq + :audit_count WHERE id = :audit_head RETURNING seq, hash
""".split()))

_EVENTS_AND_HEAD = text("""
WITH events AS (
    INSERT INTO audit_events (seq, occurred_at, actor, kind, subject_type, subject_id, payload, prev_hash, hash)
    SELECT seq, :occurred_at, actor, kind, subject_type, subject_id, CAST(payload AS jsonb), prev_hash, hash
    FROM unnest(CAST(:seq AS bigint[]), CAST(:actor AS text[]), CAST(:kind AS text[]),
                CAST(:subject_type AS text[]), CAST(:subject_id AS text[]), CAST(:payload AS text[]),
                CAST(:prev_hash AS text[]), CAST(:hash AS text[]))
         AS e(seq, actor, kind, subject_type, subject_id, payload, prev_hash, hash)
)
UPDATE audit_head SET hash = :new_hash WHERE id = :head
""")

_DECISION_COLUMNS = ("outcome", "rule", "policy_pack", "policy_version", "timezone", "local_time", "defer_until")
_DECISION_JSON = ("reasons", "checks", "counters")
_MESSAGE_COLUMNS = ("cardholder_id", "account_id", "conversation_id", "contact_point_id", "channel", "status",
                    "purpose", "author", "template_id", "template_version", "language")


@dataclass(frozen=True)
class Decided:
    ids: list[tuple[int, int]]  # (message id, decision id) for each input, in order
    audit_reserved: tuple[int, str] | None  # the audit head advanced by one per decision: (last seq, prev hash)


def insert_decisions(session: Session, decisions: Sequence[dict[str, Any]], messages: Sequence[dict[str, Any]],
                     outbox_ids: Sequence[int | None], contacts: Sequence[tuple[int, bool]], now: datetime,
                     audit_head: int) -> Decided:
    """Insert each decision and its outbound message, link the outbox rows, count the contacts in the
    cardholders' (already locked) ledgers (`contacts`: one (cardholder id, first disclosure?) per allowed
    message), and reserve one audit sequence number per decision on the chain head, which this locks until
    commit (None if the head row does not exist yet). `decisions` and `messages` are the rows gate_records
    builds for either backend."""
    params: dict[str, Any] = {name: [row[name] for row in decisions] for name in _DECISION_COLUMNS}
    params.update({name: [_json(row[name]) for row in decisions] for name in _DECISION_JSON})
    params.update({name: [row[name] for row in messages] for name in _MESSAGE_COLUMNS})
    params["defer_until"] = [_utc(value) for value in params["defer_until"]]
    params["body"] = [row["text"] for row in messages]
    params["counts"] = [bool(row["counts_toward_cap"]) for row in messages]
    params["outbox_id"] = list(outbox_ids)
    params["ledger_holder"] = [holder for holder, _ in contacts]
    params["ledger_first"] = [first for _, first in contacts]
    params["now"] = ensure_utc(now)
    params["audit_count"] = len(decisions)
    params["audit_head"] = audit_head
    rows = session.execute(_DECIDE, params).all()
    if len(rows) != len(messages):
        raise RuntimeError(f"recorded {len(rows)} of {len(messages)} decisions")
    head = rows[0][2:]
    reserved = (int(head[0]), str(head[1])) if head[0] is not None else None
    return Decided([(int(row[0]), int(row[1])) for row in rows], reserved)


def mark_sent(session: Session, sent: Sequence[tuple[int, str | None]], at: datetime, audit_head: int,
              audit_count: int) -> tuple[int, str] | None:
    """Mark messages sent with their provider ids (`sent`: (message id, provider id)) and reserve `audit_count`
    audit sequence numbers on the chain head: (last seq, prev hash), or None if the head row does not exist yet."""
    row = session.execute(_MARK_SENT, {"message": [m for m, _ in sent], "provider_id": [p for _, p in sent],
                                       "at": ensure_utc(at), "audit_head": audit_head,
                                       "audit_count": audit_count}).first()
    return (int(row[0]), str(row[1])) if row is not None else None


def insert_events(session: Session, rows: Sequence[dict[str, Any]], new_hash: str, head_id: int) -> None:
    """Insert audit events (built and hashed by compliance.audit) and set the chain head's hash."""
    session.execute(_EVENTS_AND_HEAD, {
        "occurred_at": ensure_utc(rows[0]["occurred_at"]),
        "seq": [row["seq"] for row in rows],
        "actor": [row["actor"] for row in rows],
        "kind": [row["kind"] for row in rows],
        "subject_type": [row["subject_type"] for row in rows],
        "subject_id": [row["subject_id"] for row in rows],
        "payload": [json.dumps(row["payload"], ensure_ascii=False) for row in rows],
        "prev_hash": [row["prev_hash"] for row in rows],
        "hash": [row["hash"] for row in rows],
        "new_hash": new_hash,
        "head": head_id,
    })


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else ensure_utc(value)
