"""`accord simulate`: the real pipeline replayed with a simulated clock, on the sandbox, on a scratch copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from accord.bootstrap import Container
from core.clock import FixedClock
from scheduler.simulate import parse_step, simulate
from storage.db import make_engine, migrate, transaction
from storage.tables import Message, OutboxItem
from tests.fakes.twilio_api import FakeTwilioApi
from tests.reminder_builders import add_account, build

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_a_simulated_month_moves_reminders_through_the_tones(container: Container, clock: FixedClock) -> None:
    clock.set(START)
    young = build(container, dpd=20, stage="dpd_1_29", language="zh")  # gentle -> firm
    older = build(container, dpd=50, stage="dpd_30_59", language="en", timezone="America/Chicago",
                  jurisdiction="US")  # firm -> serious
    oldest = build(container, dpd=80, stage="dpd_60_89", language="zh")  # serious -> final, and an officer
    tally = simulate(container, START, START + timedelta(days=30), parse_step("12h"))
    assert tally.steps == 61
    assert tally.outcomes["sent"] >= 9 and tally.outcomes.get("failed", 0) == 0
    assert {"dpd_1_29", "dpd_30_59", "dpd_60_89", "dpd_90_plus"} <= {stage for stage, _ in tally.by_stage}
    assert tally.staging["stage dpd_60_89->dpd_90_plus"] == 1 and tally.staging["escalations_opened"] == 1
    assert {language for language, _ in tally.by_language} == {"zh", "en"}
    with container.session_factory() as session:
        def tones(account_id: int) -> list[str]:
            return list(session.scalars(select(Message.template_id).where(
                Message.account_id == account_id, Message.status == "sent").order_by(Message.created_at)))

        assert _stages(tones(young)) == ["dpd_1_29", "dpd_30_59"]
        assert _stages(tones(older)) == ["dpd_30_59", "dpd_60_89"]
        assert _stages(tones(oldest)) == ["dpd_60_89", "dpd_90_plus"]


def test_steps_are_parsed_strictly() -> None:
    assert parse_step("30m") == timedelta(minutes=30) and parse_step("1d") == timedelta(days=1)
    for bad in ("0m", "30", "half an hour", "-1h"):
        try:
            parse_step(bad)
        except ValueError as exc:
            assert "30m" in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_cli_runs_on_a_scratch_copy_and_only_on_the_sandbox(tmp_path: Path) -> None:
    source = tmp_path / "portfolio.db"
    url = f"sqlite:///{source}"
    migrate(url)
    engine = make_engine(url)
    from storage.db import make_session_factory

    with transaction(make_session_factory(engine)) as session:
        for dpd in (5, 40):
            add_account(session, START, dpd=dpd, stage="dpd_1_29" if dpd < 30 else "dpd_30_59",
                        channels=("sms",), language="en")
    with FakeTwilioApi("AC" + "1" * 32, "2" * 32) as twilio:
        env = {**os.environ, "DATABASE_URL": url, "ACCORD_ENV": "test", "ACCORD_LOG_LEVEL": "WARNING",
               # Real-looking credentials pointed at a fake: a simulation must still never use them.
               "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "2" * 32,
               "TWILIO_FROM_NUMBER": "+14155550100", "TWILIO_API_BASE": twilio.base_url}
        done = subprocess.run(
            [sys.executable, "-m", "accord.cli.main", "simulate", "--from", "2026-11-23T00:00:00Z",
             "--to", "2026-11-26T00:00:00Z", "--step", "6h", "--json", "--examples"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert twilio.requests == []
    summary = json.loads(done.stdout)
    assert summary["outcomes"]["sent"] >= 2 and summary["steps"] == 13
    assert set(summary["by_stage"]) >= {"dpd_1_29", "dpd_30_59"}
    assert summary["examples"] and all(thread["messages"] for thread in summary["examples"])
    with engine.connect() as conn:  # the real database was only read
        assert conn.execute(select(OutboxItem.id)).first() is None
        assert conn.execute(select(Message.id)).first() is None
    engine.dispose()


def _stages(template_ids: list[str | None]) -> list[str]:
    """The distinct stages in order of first appearance (reminder.<stage> templates only)."""
    seen: list[str] = []
    for template_id in template_ids:
        stage = (template_id or "").removeprefix("reminder.")
        if template_id and template_id.startswith("reminder.") and stage not in seen:
            seen.append(stage)
    return seen


def test_scratch_copy_of_postgresql_has_the_rows_and_goes_away(tmp_path: Path) -> None:
    from sqlalchemy import func, text

    from scheduler.scratch_copy import scratch_copy
    from storage.db import make_session_factory
    from tests.conftest import create_pg_database, drop_pg_database

    source = create_pg_database("accord_scratch_src")
    try:
        migrate(source)
        engine = make_engine(source)
        with transaction(make_session_factory(engine)) as session:
            for dpd in (5, 40, 95):
                add_account(session, START, dpd=dpd, stage="dpd_1_29")
        with scratch_copy(source) as copy_url:
            copy = make_engine(copy_url)
            from storage.tables import Account, ContactPoint

            with copy.connect() as conn:
                assert conn.scalar(select(func.count()).select_from(Account)) == 3
                assert conn.scalar(select(func.count()).select_from(ContactPoint)) == 6
                next_id = conn.scalar(text("SELECT nextval(pg_get_serial_sequence('accounts', 'id'))"))
                assert next_id > max(conn.scalars(select(Account.id)))  # new rows do not collide
            copy.dispose()
            name = copy_url.rsplit("/", 1)[1]
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name}) == 0
        engine.dispose()
    finally:
        drop_pg_database(source)


def test_a_broken_scheduler_file_names_file_key_and_reason(tmp_path: Path) -> None:
    import shutil

    import pytest

    from accord.config_files import ConfigError
    from scheduler.config import load_scheduler_config

    shutil.copy(ROOT / "config" / "scheduler.yaml", tmp_path / "scheduler.yaml")
    path = tmp_path / "scheduler.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace('start: "09:00", end: "20:00"',
                                                             'start: "21:00", end: "20:00"'), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_scheduler_config(tmp_path)
    assert "scheduler.yaml: sweep.send_window" in str(err.value) and "must be after" in str(err.value)
