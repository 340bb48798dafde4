"""Seed a console-sized PostgreSQL database quickly with COPY: cardholders, accounts, a million messages with
their gate decisions, escalations, promises, plans and stage changes, spread over 90 days before NOW."""

from __future__ import annotations

import io
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
SPAN = timedelta(days=90)
ZONES = {"CN": ("Asia/Shanghai", 8), "US": ("America/New_York", -5), "UK": ("Europe/London", 0),
         "US-MA": ("America/New_York", -5)}
PACKS = list(ZONES)
BLOCK_REASONS = ['["outside_contact_hours"]', '["frequency_cap"]', '["lint:threats"]', '["opted_out"]',
                 '["not_verified"]']
STAGES = ["dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_plus"]


def _copy(conn: psycopg.Connection[Any], table: str, columns: str, lines: Iterator[str]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for n, line in enumerate(lines, 1):
            buffer.write(line)
            if n % 20000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def _ts(at: datetime) -> str:
    return at.isoformat()


def seed(dsn: str, messages: int, holders: int) -> dict[str, Any]:
    rng = random.Random(7)
    with psycopg.connect(dsn) as conn:
        made = NOW - SPAN
        _copy(conn, "cardholders", "id, external_id, full_name, language, timezone, jurisdiction, "
              "created_at, updated_at",
              (f"{i}\tC{i:07d}\tHolder {i}\t{'zh' if PACKS[i % 4] == 'CN' else 'en'}\t{ZONES[PACKS[i % 4]][0]}\t"
               f"{PACKS[i % 4]}\t{_ts(made)}\t{_ts(made)}\n" for i in range(1, holders + 1)))
        _copy(conn, "accounts", "id, external_id, cardholder_id, product, currency, balance_minor, minimum_due_minor, "
              "due_date, days_past_due, stage, touches_in_stage, created_at, updated_at",
              (f"{i}\tA{i:07d}\t{i}\tcredit_card\t{'CNY' if PACKS[i % 4] == 'CN' else 'USD'}\t{100000 + i}\t10000\t"
               f"2026-10-01\t{30 + i % 90}\t{STAGES[i % 4]}\t0\t{_ts(made)}\t{_ts(made)}\n"
               for i in range(1, holders + 1)))
        _copy(conn, "contact_points", "id, cardholder_id, channel, address, preferred, consent_basis, verified, "
              "status, opted_out_at, created_at, updated_at",
              (f"{i}\t{i}\tsms\t+1212{i:07d}\tt\texpress_written\tt\tactive\t"
               f"{_ts(NOW - timedelta(hours=i % 2000)) if i % 50 == 0 else chr(92) + 'N'}\t{_ts(made)}\t{_ts(made)}\n"
               for i in range(1, holders + 1)))
        _copy(conn, "compliance_decisions", "id, outcome, reasons, checks, policy_pack, policy_version, counters, "
              "timezone, local_time, decided_at", _decisions(rng, messages, holders))
        _copy(conn, "messages", "id, cardholder_id, account_id, contact_point_id, channel, direction, status, "
              "purpose, author, template_id, template_version, language, text, created_at, sent_at, decision_id, "
              "counts_toward_cap",
              _messages(rng, messages, holders))
        _copy(conn, "escalations", "id, cardholder_id, account_id, reason, priority, status, detail, claimed_by, "
              "created_at, claimed_at, first_reply_at",
              (f"{i}\t{i}\t{i}\t{['distress', 'attorney', 'dispute', 'ask_human', 'fallback'][i % 5]}\t50\t"
               f"{'resolved' if i % 3 else 'open'}\t{{}}\t{chr(92) + 'N' if i % 3 == 0 else 'olivia'}\t"
               f"{_ts(NOW - timedelta(minutes=7 * i))}\t{_ts(NOW - timedelta(minutes=7 * i - 5))}\t"
               f"{_ts(NOW - timedelta(minutes=7 * i - 9))}\n" for i in range(1, 3001)))
        _copy(conn, "promises", "id, account_id, amount_minor, promised_date, status, recorded_by, created_at",
              (f"{i}\t{i}\t5000\t2026-11-20\t{['kept', 'broken', 'open'][i % 3]}\tbot\t"
               f"{_ts(NOW - timedelta(hours=i % 300))}\n" for i in range(1, 5001)))
        _copy(conn, "installment_plans", "id, account_id, status, term_months, total_minor, down_payment_minor, "
              "monthly_minor, fees_waived, interest_waived, settlement_discount_bp, proposed_by, created_at, "
              "accepted_at",
              (f"{i}\t{i}\t{'active' if i % 2 else 'proposed'}\t6\t60000\t0\t10000\tf\tf\t0\tbot\t"
               f"{_ts(NOW - timedelta(hours=i % 300))}\t{_ts(NOW) if i % 2 else chr(92) + 'N'}\n"
               for i in range(1, 2001)))
        _copy(conn, "stage_changes", "id, account_id, from_stage, to_stage, days_past_due, changed_at",
              (f"{i}\t{i}\t{STAGES[i % 3]}\t{STAGES[(i % 3) + 1] if i % 4 else 'current'}\t45\t"
               f"{_ts(NOW - timedelta(hours=i % 160))}\n" for i in range(1, 20001)))
        with conn.cursor() as cur:
            for table in ("cardholders", "accounts", "contact_points", "compliance_decisions", "messages",
                          "escalations", "promises", "installment_plans", "stage_changes"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    return {"account": f"A{holders // 2:07d}"}


def _when(i: int, messages: int) -> datetime:
    return NOW - SPAN + SPAN * (i / messages)


def _local_hour_ok(at: datetime, offset: int) -> bool:
    return 8 <= (at.hour + offset) % 24 < 21


def _decisions(rng: random.Random, messages: int, holders: int) -> Iterator[str]:
    for i in range(1, messages + 1):
        at = _when(i, messages)
        pack = PACKS[(i % holders) % 4]
        zone, offset = ZONES[pack]
        roll = rng.random()
        outcome, reasons = ("allow", "[]") if roll < 0.85 else ("block", rng.choice(BLOCK_REASONS)) \
            if roll < 0.95 else ("defer", '["outside_contact_hours"]')
        local = at + timedelta(hours=offset)
        if outcome == "allow" and not _local_hour_ok(at, offset):
            outcome, reasons = "defer", '["outside_contact_hours"]'  # the gate never lets night sends through
        yield (f"{i}\t{outcome}\t{reasons}\t[]\t{pack}\t2026.11.1\t{{}}\t{zone}\t"
               f"{local.strftime('%Y-%m-%dT%H:%M:%S')}{offset:+03d}:00\t{_ts(at)}\n")


def _messages(rng: random.Random, messages: int, holders: int) -> Iterator[str]:
    status_of = {"allow": "sent", "block": "blocked", "defer": "deferred"}
    replay = random.Random(7)  # the same stream as _decisions, so statuses match outcomes
    for i in range(1, messages + 1):
        at = _when(i, messages)
        holder = i % holders + 1
        pack = PACKS[(i % holders) % 4]
        roll = replay.random()
        outcome = "allow" if roll < 0.85 else "block" if roll < 0.95 else "defer"
        if roll >= 0.85 and roll < 0.95:
            replay.choice(BLOCK_REASONS)
        if outcome == "allow" and not _local_hour_ok(at, ZONES[pack][1]):
            outcome = "defer"
        inbound = rng.random() < 0.25
        author = "cardholder" if inbound else ("officer:olivia" if i % 97 == 0 else "scheduler")
        direction = "inbound" if inbound else "outbound"
        status = "received" if inbound else status_of[outcome]
        template = "\\N\t\\N" if inbound else f"reminder.{['gentle', 'firm', 'serious'][i % 3]}\t1"
        sent = _ts(at) if status == "sent" else "\\N"
        decision = "\\N" if inbound else str(i)
        text = json.dumps(f"Message {i} about account A{holder:07d}")[1:-1]
        yield (f"{i}\t{holder}\t{holder}\t{holder}\tsms\t{direction}\t{status}\treminder\t{author}\t{template}\t"
               f"{'zh' if pack == 'CN' else 'en'}\t{text}\t{_ts(at)}\t{sent}\t{decision}\t"
               f"{'t' if status == 'sent' else 'f'}\n")
