"""The real dialogue stack for integration tests: Accord's app, both Rasa servers and the action server.

Started once per test process (session scope) on its own SQLite database, so these tests run once, not once
per database backend: what they exercise is the conversation, and the backends are covered elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from accord.dialogue import rasa_runtime
from accord.dialogue.live_stack import LiveStack, start_stack
from core.clock import FixedClock
from storage.db import migrate
from storage.tables import Account, Cardholder, ContactPoint

# 18:00 in Shanghai and 10:00 in London: inside both packs' contact hours.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    if not rasa_runtime.venv_ready():
        pytest.fail("the Rasa environment is missing: run `make nlu-models` (make test does this first)")
    workdir = tmp_path_factory.mktemp("dialogue")
    url = f"sqlite:///{workdir / 'accord.db'}"
    migrate(url)
    live = start_stack(url, FixedClock(NOW), workdir=workdir)
    try:
        yield live
    finally:
        live.close()


def add_cardholder(session: Session, *, external_id: str, language: str, phone: str, stage: str = "dpd_30_59",
                   balance_minor: int = 600_000, days_past_due: int = 40) -> Cardholder:
    jurisdiction, timezone, currency = ("CN", "Asia/Shanghai", "CNY") if language == "zh" else \
        ("UK", "Europe/London", "GBP")
    holder = Cardholder(external_id=external_id, full_name="Test Holder", language=language, timezone=timezone,
                        jurisdiction=jurisdiction, card_last4="4242", birth_year=1980, created_at=NOW,
                        updated_at=NOW)
    session.add(holder)
    session.flush()
    session.add(Account(external_id=f"A-{external_id}", cardholder_id=holder.id, product="credit_card",
                        currency=currency, balance_minor=balance_minor, minimum_due_minor=50_000,
                        due_date=date(2026, 10, 14), days_past_due=days_past_due, stage=stage, created_at=NOW,
                        updated_at=NOW))
    session.add(ContactPoint(cardholder_id=holder.id, channel="sms", address=phone, preferred=True,
                             consent_basis="cardholder_agreement", consent_at=NOW, verified=False,
                             created_at=NOW, updated_at=NOW))
    session.flush()
    return holder
