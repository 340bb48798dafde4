"""The gate's writes on PostgreSQL as single statements over arrays (`unnest`), whatever the batch size.

Every bot reply, officer reply and reminder waits on these round trips while the cardholder's ledger row (and, for
the audit chain, the head row) is locked, so they are folded together:
  - a batch's decisions, their messages, the outbox links, the contact-ledger counts and the decisions' audit
    events, chained onto the head row (sha256 in the database, over the canonical record that compliance.audit
    defines and verifies): one statement, so the head, which every audit append in Accord waits for, is held
    from that statement to the commit and no longer;
  - the sent messages' marks: one statement, which also makes its transaction commit without waiting for the
    WAL flush, so the head's lock is not held through a disk write: the cardholder has the message already, and
    should the database server crash before the flush, the message is left in `sending` (the decision itself
    was committed synchronously before the send), where the reconcilers settle it by asking the provider. Any
    later synchronous commit flushes it along with its own writes. Their audit events follow, chained in the
    database like every append (`append_events`), as the transaction's last statement.
The statement text never changes with the batch size, so PostgreSQL prepares it once per connection, where a
multi-row VALUES list is a new, longer statement for the driver to parse every time. The rows travel as one JSON
document (`jsonb_array_elements`): psycopg escapes the strings of a text array in Python, character class by
character class, while a JSON string parameter goes as it is, and the JSON columns stay JSON without a second
encoding.

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
WITH RECURSIVE input AS (
    SELECT n, r->>0 AS outcome, r->>1 AS rule, r->2 AS reasons, r->3 AS checks, r->>4 AS policy_pack,
           r->>5 AS policy_version, r->6 AS counters, r->>7 AS timezone, r->>8 AS local_time,
           CAST(r->>9 AS timestamptz) AS defer_until, CAST(r->>10 AS bigint) AS cardholder_id,
           CAST(r->>11 AS bigint) AS account_id, CAST(r->>12 AS bigint) AS conversation_id,
           CAST(r->>13 AS bigint) AS contact_point_id, r->>14 AS channel, r->>15 AS status, r->>16 AS purpose,
           r->>17 AS author, r->>18 AS template_id, CAST(r->>19 AS integer) AS template_version,
           r->>20 AS language, r->>21 AS body, CAST(r->>22 AS boolean) AS counts,
           CAST(r->>23 AS bigint) AS outbox_id, r->>24 AS actor, r->25 AS payload, r->26 AS pieces
    FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS x(r, n)
), decisions AS (
    INSERT INTO compliance_decisions (outcome, rule, reasons, checks, policy_pack, policy_version, counters,
                                      timezone, local_time, defer_until, decided_at)
    SELECT outcome, rule, reasons, checks, policy_pack, policy_version, counters, timezone, local_time,
           defer_until, :now
    FROM input ORDER BY n
    RETURNING id
), decided AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n FROM decisions
), written AS (
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
    FROM written m JOIN decided d ON d.id = m.decision_id JOIN input i ON i.n = d.n
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
    SELECT seq, CAST(hash AS text) AS hash FROM audit_head WHERE id = :audit_head FOR UPDATE
), numbered AS (
    SELECT i.n, d.id AS decision_id, m.id AS message_id, i.actor, i.payload, i.pieces
    FROM input i JOIN decided d ON d.n = i.n JOIN written m ON m.decision_id = d.id
), chain (n, seq, hash, prev) AS (
    SELECT CAST(0 AS bigint), seq, hash, CAST(NULL AS text) FROM head
    UNION ALL
    SELECT c.n + 1, c.seq + 1, encode(sha256(convert_to(c.hash || (e.pieces->>0) || e.decision_id || (e.pieces->>1)
        || c.hash || (e.pieces->>2) || (c.seq + 1) || (e.pieces->>3) || e.message_id || (e.pieces->>4), 'UTF8')),
        'hex'), c.hash
    FROM chain c JOIN numbered e ON e.n = c.n + 1
), events AS (
    INSERT INTO audit_events (seq, occurred_at, actor, kind, subject_type, subject_id, payload, prev_hash, hash)
    SELECT c.seq, :now, e.actor, 'compliance.decision', 'message', CAST(e.message_id AS text),
           jsonb_set(e.payload, '{decision_id}', to_jsonb(e.decision_id)), c.prev, c.hash
    FROM chain c JOIN numbered e ON e.n = c.n ORDER BY c.n
), advanced AS (
    UPDATE audit_head SET seq = last.seq, hash = last.hash
    FROM (SELECT seq, hash FROM chain ORDER BY n DESC LIMIT 1) last WHERE audit_head.id = :audit_head
    RETURNING audit_head.seq
)
SELECT m.id, m.decision_id, (SELECT seq FROM advanced) FROM written m ORDER BY m.id
""".split()))

_MARK_SENT = text(" ".join("""
WITH sent AS (
    UPDATE messages SET status = 'sent', provider_message_id = s.provider_id, sent_at = :at
    FROM unnest(CAST(:message AS bigint[]), CAST(:provider_id AS text[])) AS s(message, provider_id)
    WHERE messages.id = s.message
    RETURNING messages.id
)
SELECT count(*), set_config('synchronous_commit', 'off', true) FROM sent
""".split()))

_EVENTS_AND_HEAD = text(" ".join("""
WITH events AS (
    INSERT INTO audit_events (seq, occurred_at, actor, kind, subject_type, subject_id, payload, prev_hash, hash)
    SELECT CAST(r->>0 AS bigint), :occurred_at, r->>1, r->>2, r->>3, r->>4, r->5, r->>6, r->>7
    FROM jsonb_array_elements(CAST(:rows AS jsonb)) AS x(r)
)
UPDATE audit_head SET hash = :new_hash WHERE id = :head
""".split()))

_APPEND = text(" ".join("""
WITH RECURSIVE input AS (
    SELECT n, r->>0 AS actor, r->>1 AS kind, r->>2 AS subject_type, r->>3 AS subject_id, r->4 AS payload,
           r->5 AS pieces
    FROM jsonb_array_elements(CAST(:rows AS jsonb)) WITH ORDINALITY AS x(r, n)
), head AS (
    SELECT seq, CAST(hash AS text) AS hash FROM audit_head WHERE id = :head FOR UPDATE
), chain (n, seq, hash, prev) AS (
    SELECT CAST(0 AS bigint), seq, hash, CAST(NULL AS text) FROM head
    UNION ALL
    SELECT c.n + 1, c.seq + 1, encode(sha256(convert_to(c.hash || (e.pieces->>0) || c.hash || (e.pieces->>1)
        || (c.seq + 1) || (e.pieces->>2), 'UTF8')), 'hex'), c.hash
    FROM chain c JOIN input e ON e.n = c.n + 1
), events AS (
    INSERT INTO audit_events (seq, occurred_at, actor, kind, subject_type, subject_id, payload, prev_hash, hash)
    SELECT c.seq, :occurred_at, e.actor, e.kind, e.subject_type, e.subject_id, e.payload, c.prev, c.hash
    FROM chain c JOIN input e ON e.n = c.n ORDER BY c.n
), advanced AS (
    UPDATE audit_head SET seq = last.seq, hash = last.hash
    FROM (SELECT seq, hash FROM chain ORDER BY n DESC LIMIT 1) last WHERE audit_head.id = :head
    RETURNING audit_head.seq
)
SELECT c.seq, c.prev, c.hash FROM chain c JOIN advanced ON true WHERE c.n > 0 ORDER BY c.n
""".split()))

_MESSAGE_FIELDS = ("cardholder_id", "account_id", "conversation_id", "contact_point_id", "channel", "status",
                   "purpose", "author", "template_id", "template_version", "language", "text")


@dataclass(frozen=True)
class DecisionEvent:
    """A decision's audit event as the statement completes it: the payload (its `decision_id` still None) and
    the canonical record's pieces around the values the statement fills in (compliance.audit.canonical_pieces)."""

    actor: str
    payload: dict[str, Any]
    pieces: list[str]


@dataclass(frozen=True)
class Decided:
    ids: list[tuple[int, int]]  # (message id, decision id) for each input, in order
    audited: bool  # the decisions' audit events were written (False only where the chain head row does not exist)


def insert_decisions(session: Session, decisions: Sequence[dict[str, Any]], messages: Sequence[dict[str, Any]],
                     outbox_ids: Sequence[int | None], contacts: Sequence[tuple[int, bool]],
                     events: Sequence[DecisionEvent], now: datetime, audit_head: int) -> Decided:
    """Insert each decision, its outbound message and its audit event, link the outbox rows, and count the
    contacts in the cardholders' (already locked) ledgers (`contacts`: one (cardholder id, first disclosure?) per
    allowed message). The audit events are chained onto the head row, which this locks until commit, by the
    database itself (sha256 over the canonical record, as compliance.audit computes it), so the head is held for
    no round trip and no Python work before the commit. `decisions` and `messages` are the rows gate_records
    builds for either backend."""
    # One JSON document for the rows: psycopg escapes text arrays in Python, a JSON string goes as it is.
    rows = [[d["outcome"], d["rule"], d["reasons"], d["checks"], d["policy_pack"], d["policy_version"],
             d["counters"], d["timezone"], d["local_time"], _iso(d["defer_until"]),
             *(m[name] for name in _MESSAGE_FIELDS), bool(m["counts_toward_cap"]), outbox,
             event.actor, event.payload, event.pieces]
            for d, m, outbox, event in zip(decisions, messages, outbox_ids, events, strict=True)]
    params: dict[str, Any] = {"rows": _json(rows)}
    params["ledger_holder"] = [holder for holder, _ in contacts]
    params["ledger_first"] = [first for _, first in contacts]
    params["now"] = ensure_utc(now)
    params["audit_head"] = audit_head
    written = session.connection().execute(_DECIDE, params).all()
    if len(written) != len(messages):
        raise RuntimeError(f"recorded {len(written)} of {len(messages)} decisions")
    return Decided([(int(row[0]), int(row[1])) for row in written], written[0][2] is not None)


def mark_sent(session: Session, sent: Sequence[tuple[int, str | None]], at: datetime) -> None:
    """Mark messages sent with their provider ids (`sent`: (message id, provider id)); the transaction then
    commits without waiting for the WAL flush (see the module's docstring)."""
    marked = session.connection().execute(_MARK_SENT, {"message": [m for m, _ in sent],
                                                       "provider_id": [p for _, p in sent],
                                                       "at": ensure_utc(at)}).scalar_one()
    if marked != len(sent):
        raise RuntimeError(f"marked {marked} of {len(sent)} messages sent")


def append_events(session: Session, rows: Sequence[dict[str, Any]], head_id: int) -> list[tuple[int, str, str]] | None:
    """Append audit events (`rows`: actor, kind, subject_type, subject_id, payload, and the canonical record's
    pieces around prev_hash and seq, from compliance.audit.canonical_pieces) chained by the database onto the
    head, which this locks until commit: (seq, prev hash, hash) for each, or None, with nothing written, where
    the head row does not exist yet."""
    written = session.connection().execute(_APPEND, {
        "occurred_at": ensure_utc(rows[0]["occurred_at"]),
        "rows": _json([[row["actor"], row["kind"], row["subject_type"], row["subject_id"], row["payload"],
                        row["pieces"]] for row in rows]),
        "head": head_id,
    }).all()
    if not written:
        return None
    if len(written) != len(rows):
        raise RuntimeError(f"chained {len(written)} of {len(rows)} audit events")
    return [(int(seq), str(prev), str(digest)) for seq, prev, digest in written]


def insert_events(session: Session, rows: Sequence[dict[str, Any]], new_hash: str, head_id: int) -> None:
    """Insert audit events (built and hashed by compliance.audit) and set the chain head's hash."""
    session.connection().execute(_EVENTS_AND_HEAD, {
        "occurred_at": ensure_utc(rows[0]["occurred_at"]),
        "rows": _json([[row["seq"], row["actor"], row["kind"], row["subject_type"], row["subject_id"], row["payload"],
                        row["prev_hash"], row["hash"]] for row in rows]),
        "new_hash": new_hash,
        "head": head_id,
    })


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else ensure_utc(value).isoformat()
