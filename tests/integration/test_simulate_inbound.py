"""`accord simulate --inbound FILE`: cardholders' messages replayed through the real inbound pipeline, with the
simulated clock, on SQLite and PostgreSQL; what they stop shows in the summary and the timelines."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.bootstrap import Container
from core.clock import FixedClock
from core.ports import DialogueReply, DialogueTurn
from scheduler.sim_inbound import InboundFileRejected, read_inbound
from scheduler.sim_replay import InboundReplay
from scheduler.simulate import parse_step, simulate
from storage.db import make_engine, make_session_factory, migrate, transaction
from storage.tables import Account, ContactPoint, Message, ProtectiveState
from tests.fakes.twilio_api import FakeTwilioApi
from tests.reminder_builders import add_account, build

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
WEEK = START + timedelta(days=7)
# Through the next Monday morning: dpd_1_29 reminders come every 7 days, so the second one falls on day 8.
EIGHT_DAYS = START + timedelta(days=8)
TOKEN = "change-me"  # the development internal API token both sides read from settings


class ActionServerStandIn:
    """A dialogue engine that does what Rasa's action server does for two intents: a dispute is handed to the
    app's internal API (which records it and answers), anything else gets a canned reply."""

    def __init__(self, api: TestClient) -> None:
        self.api = api

    def handle(self, turn: DialogueTurn) -> list[DialogueReply]:
        if "dispute" not in turn.text.lower():
            return [DialogueReply("holding.reply")]
        response = self.api.post(f"/internal/v1/conversations/{turn.sender_id}/handoff",
                                 json={"reason": "dispute", "text": turn.text},
                                 headers={"X-Accord-Internal-Token": TOKEN})
        assert response.status_code == 200, response.text
        return [DialogueReply(r["template_id"], r["params"]) for r in response.json()["replies"]]

    def healthy(self) -> bool:
        return True


def _csv(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "inbound.csv"
    path.write_text("time,external_id,channel,text\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def _external_id(container: Container, account_id: int) -> str:
    with container.session_factory() as session:
        return session.get_one(Account, account_id).external_id


def test_a_stop_on_day_two_stops_that_cardholders_sms_reminders_from_then_on(
        container: Container, clock: FixedClock, tmp_path: Path) -> None:
    clock.set(START)
    stopping = build(container, dpd=20, stage="dpd_1_29", language="zh", channels=("sms",))
    control = build(container, dpd=20, stage="dpd_1_29", language="zh", channels=("sms",))
    disputing = build(container, dpd=40, stage="dpd_30_59", language="en", timezone="America/Chicago",
                      jurisdiction="US", channels=("telegram",))
    stop_at = START + timedelta(days=1, hours=3, minutes=10)  # day 2, 11:10 in Shanghai
    file = _csv(tmp_path, [
        # out of time order on purpose: the replay sorts them
        f"{(START + timedelta(days=2, hours=16)).isoformat()},{_external_id(container, disputing)},telegram,"
        "I dispute this debt",
        f"{stop_at.isoformat()},{_external_id(container, stopping)},sms,STOP",
    ])
    messages = read_inbound(file, container.session_factory, START, EIGHT_DAYS)
    assert [m.line for m in messages] == [3, 2]

    with TestClient(_internal_api(container)) as api:
        container.extras["dialogue"] = ActionServerStandIn(api)
        replay = InboundReplay(container, messages)
        tally = simulate(container, START, EIGHT_DAYS, parse_step("6h"), inbound=replay)

    assert tally.outcomes["sent"] >= 2
    summary = replay.tally.as_dict()
    assert summary["replayed"] == 2
    assert summary["outcomes"] == {"opted_out": 1, "replied": 1}
    assert summary["protective_states"]["channel_opt_out"] == {"active": 1}
    assert summary["protective_states"]["dispute"]["active"] == 1
    assert summary["bot_replies"].get("sent", 0) >= 2  # the opt-out confirmation, the dispute acknowledgement

    def sms_reminders(account_id: int) -> list[datetime]:
        with container.session_factory() as session:
            return [_utc(at) for at in session.scalars(select(Message.created_at).where(
                Message.account_id == account_id, Message.channel == "sms", Message.status == "sent",
                Message.author == "scheduler"))]

    assert any(at < stop_at for at in sms_reminders(stopping))  # reminders went out before the STOP ...
    assert not [at for at in sms_reminders(stopping) if at > stop_at]  # ... and none after it
    assert any(at > stop_at for at in sms_reminders(control))  # while the same cardholder who said nothing got some
    with container.session_factory() as session:
        holder = session.get_one(Account, stopping).cardholder_id
        point = session.scalars(select(ContactPoint).where(ContactPoint.cardholder_id == holder)).one()
        assert point.opted_out_at is not None
        assert session.scalars(select(ProtectiveState.kind).where(ProtectiveState.cardholder_id == holder)).all() \
            == ["channel_opt_out"]

    timelines = {t["account"]: t for t in replay.timelines(EIGHT_DAYS)}
    stop_thread = timelines[_external_id(container, stopping)]
    assert stop_thread["turns"][0]["wrote"] == "STOP" and stop_thread["turns"][0]["outcome"] == "opted_out"
    assert stop_thread["turns"][0]["replies"][0]["template_id"] == "opt_out.confirmation"
    assert stop_thread["turns"][0]["protective_states"] == ["channel_opt_out (active)"]
    assert not [line for line in stop_thread["reminders_after"] if line["status"] == "sent"]
    dispute_turn = timelines[_external_id(container, disputing)]["turns"][0]
    assert dispute_turn["protective_states"] and dispute_turn["protective_states"][0].startswith("dispute")
    assert dispute_turn["replies"] and all(r["text"] for r in dispute_turn["replies"] if r["status"] == "sent")


def test_every_bad_row_is_named_by_line_and_column_without_its_contents(
        container: Container, clock: FixedClock, tmp_path: Path) -> None:
    clock.set(START)
    sms_only = _external_id(container, build(container, dpd=20, stage="dpd_1_29", channels=("sms",)))
    file = _csv(tmp_path, [
        f"2026-11-24T10:15:00,{sms_only},sms,a secret",  # 2: no offset
        "2026-11-24T10:15:00+08:00,NO-SUCH-ACCOUNT,sms,a secret",  # 3
        f"2026-11-24T10:15:00+08:00,{sms_only},telegram,a secret",  # 4: no telegram address
        f"2026-11-24T10:15:00+08:00,{sms_only},email,a secret",  # 5
        f"2026-12-24T10:15:00+08:00,{sms_only},sms,   ",  # 6: after --to, and empty
        f"2026-11-22T10:15:00+08:00,{sms_only},sms,a secret",  # 7: before --from
        f"yesterday,{sms_only},sms,a secret",  # 8
        f"2026-11-25T10:15:00+08:00,{sms_only},sms,fine",  # 9
    ])
    with pytest.raises(InboundFileRejected) as err:
        read_inbound(file, container.session_factory, START, WEEK)
    assert [(e.line, e.column) for e in err.value.errors] == [
        (2, "time"), (3, "external_id"), (4, "channel"), (5, "channel"), (6, "text"), (6, "time"), (7, "time"),
        (8, "time")]
    assert "7 bad row(s)" in str(err.value)
    said = "\n".join(str(e) for e in err.value.errors)
    assert "secret" not in said and "NO-SUCH" not in said and sms_only not in said


def test_cli_replays_a_file_on_the_sandbox_and_refuses_a_bad_one(tmp_path: Path) -> None:
    source = tmp_path / "portfolio.db"
    url = f"sqlite:///{source}"
    migrate(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        account = add_account(session, START, dpd=10, stage="dpd_1_29", channels=("sms",), language="en",
                              timezone="America/Chicago", jurisdiction="US")
        external_id = account.external_id
    good = _csv(tmp_path, [f"2026-11-24T09:30:00-06:00,{external_id},sms,STOP",
                           f"2026-11-23T20:00:00-06:00,{external_id},sms,Can I pay next week?"])
    with FakeTwilioApi("AC" + "1" * 32, "2" * 32) as twilio:
        env = {**os.environ, "DATABASE_URL": url, "ACCORD_ENV": "test", "ACCORD_LOG_LEVEL": "WARNING",
               "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "2" * 32,
               "TWILIO_FROM_NUMBER": "+14155550100", "TWILIO_API_BASE": twilio.base_url}
        env.pop("RASA_URL", None)
        command = [sys.executable, "-m", "accord.cli.main", "simulate", "--from", "2026-11-23T00:00:00Z",
                   "--to", "2026-11-27T00:00:00Z", "--step", "6h", "--json", "--examples"]
        done = subprocess.run([*command, "--inbound", str(good)], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert twilio.requests == []
        bad = _csv(tmp_path, [f"2026-11-24T09:30:00-06:00,{external_id},telegram,my private words"])
        refused = subprocess.run([*command, "--inbound", str(bad)], cwd=ROOT, env=env, capture_output=True,
                                 text=True, timeout=300, check=False)
    inbound: dict[str, Any] = json.loads(done.stdout)["inbound"]
    assert inbound["replayed"] == 2 and inbound["dialogue"] == "none"
    # No dialogue engine: the question goes to an officer (one holding reply), then the STOP is obeyed.
    assert inbound["outcomes"] == {"handed_to_officer": 1, "opted_out": 1}
    assert inbound["escalations"] == {"dialogue_unavailable": 1}
    assert inbound["protective_states"] == {"channel_opt_out": {"active": 1}}
    [thread] = inbound["timelines"]
    assert [turn["wrote"] for turn in thread["turns"]] == ["Can I pay next week?", "STOP"]
    assert thread["turns"][0]["time"].startswith("2026-11-23T20:00-06:00")
    assert [r["template_id"] for turn in thread["turns"] for r in turn["replies"]] == ["holding.reply",
                                                                                      "opt_out.confirmation"]
    assert refused.returncode == 2
    assert "line 2, column channel: the cardholder has no telegram address" in refused.stderr
    assert "private" not in refused.stderr
    with engine.connect() as conn:  # the real database was only read
        assert conn.execute(select(Message.id)).first() is None
    engine.dispose()


def _internal_api(container: Container) -> Any:
    from web.app import create_app

    return create_app(container, modules=("web.internal_api",))


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
