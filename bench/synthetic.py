"""A synthetic delinquent portfolio written straight into PostgreSQL with COPY, for the reminder benchmarks.

Every account is in a reminder stage and due a touch (never reminded, inside its stage's cadence), so a sweep
plans exactly one outbox row per account. Cardholders are spread over five time zones and both languages;
each has an SMS number with consent and every other one a Telegram chat.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 14:00 Shanghai, 06:00 London, 01:00 New York
ZONES = (("Asia/Shanghai", "CN", "zh"), ("America/New_York", "US", "en"), ("America/Chicago", "US", "en"),
         ("America/Los_Angeles", "US", "en"), ("Europe/London", "UK", "en"))
# (stage, first dpd, days in which every account is still due its first touch)
STAGES = (("pre_due", -3, 3), ("dpd_1_29", 1, 7), ("dpd_30_59", 30, 5), ("dpd_60_89", 60, 4),
          ("dpd_90_plus", 90, 28))


def psycopg_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _today(zone: str) -> date:
    return NOW.astimezone(ZoneInfo(zone)).date()


def account_shape(i: int) -> tuple[str, str, str, str, int, date]:
    """(zone, jurisdiction, language, stage, dpd, due date) for account number i (1-based)."""
    zone, jurisdiction, language = ZONES[i % len(ZONES)]
    stage, first, span = STAGES[(i // len(ZONES)) % len(STAGES)]
    dpd = first + (i // 25) % span
    return zone, jurisdiction, language, stage, dpd, _today(zone) - timedelta(days=dpd)


def load_portfolio(url: str, count: int) -> None:
    stamp = NOW.isoformat()
    with psycopg.connect(psycopg_url(url)) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY cardholders (id, external_id, full_name, language, timezone, jurisdiction, "
                          "card_last4, birth_year, created_at, updated_at) FROM STDIN") as copy:
                for i in range(1, count + 1):
                    zone, jurisdiction, language, *_ = account_shape(i)
                    copy.write_row((i, f"C{i:08d}", f"Holder {i}", language, zone, jurisdiction, f"{i % 10000:04d}",
                                    1950 + i % 50, stamp, stamp))
            with cur.copy("COPY accounts (id, external_id, cardholder_id, product, currency, balance_minor, "
                          "minimum_due_minor, due_date, days_past_due, stage, touches_in_stage, created_at, "
                          "updated_at) FROM STDIN") as copy:
                for i in range(1, count + 1):
                    zone, jurisdiction, _language, stage, dpd, due = account_shape(i)
                    currency = {"CN": "CNY", "UK": "GBP"}.get(jurisdiction, "USD")
                    copy.write_row((i, f"A{i:08d}", i, "credit_card", currency, 250_000 + i % 97_000,
                                    5_000 + i % 3_000, due, dpd, stage, 0, stamp, stamp))
            with cur.copy("COPY contact_points (cardholder_id, channel, address, preferred, consent_basis, "
                          "consent_at, verified, status, created_at, updated_at) FROM STDIN") as copy:
                for i in range(1, count + 1):
                    copy.write_row((i, "sms", f"+1555{i:08d}", False, "cardholder_agreement", stamp, True, "active",
                                    stamp, stamp))
                    if i % 2 == 0:
                        copy.write_row((i, "telegram", str(10**9 + i), False, "cardholder_initiated", stamp, True,
                                        "active", stamp, stamp))
            for table in ("cardholders", "accounts"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", (count,))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE cardholders")
        conn.execute("VACUUM ANALYZE accounts")
        conn.execute("VACUUM ANALYZE contact_points")


def outbox_rows(count: int) -> Iterator[tuple[object, ...]]:
    """The rows a sweep writes for this portfolio, in the outbox's column order (for the raw-insert baseline)."""
    stamp = NOW.isoformat()
    for i in range(1, count + 1):
        _zone, _j, language, stage, dpd, due = account_shape(i)
        params = json.dumps({"stage": stage, "tone": "gentle", "touch": 1, "days_past_due": max(dpd, 0),
                             "amount_due_minor": 5_000, "balance_minor": 250_000, "currency": "USD",
                             "due_date": due.isoformat()})
        yield (f"reminder:{i}:{due.isoformat()}:{stage}:0", i, i, "sms", "reminder", f"reminder.{stage}", language,
               params, 100, stamp, "queued", 0, stamp, stamp)


OUTBOX_COPY = ("COPY outbox (idempotency_key, cardholder_id, account_id, channel, purpose, template_id, language, "
               "params, priority, not_before, status, attempts, created_at, updated_at) FROM STDIN")


def raw_insert_outbox(url: str, count: int) -> None:
    with psycopg.connect(psycopg_url(url)) as conn, conn.cursor() as cur:
        with cur.copy(OUTBOX_COPY) as copy:
            for row in outbox_rows(count):
                copy.write_row(row)
        conn.commit()


def clear_outbox(url: str) -> None:
    with psycopg.connect(psycopg_url(url), autocommit=True) as conn:
        conn.execute("TRUNCATE outbox RESTART IDENTITY CASCADE")
        conn.execute("VACUUM ANALYZE outbox")
