"""What a compliance reviewer runs: explain, export, lint."""

from __future__ import annotations

import csv
import io
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from accord.bootstrap import Container
from accord.cli.main import app
from compliance.export import COLUMNS, message_records
from storage.db import transaction
from storage.tables import Message
from tests.compliance_builders import CONFIG_DIR, add_holder, make_gate, reminder

LATE_NY = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)  # 21:30 in New York


def _cli(container: Container, *args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"DATABASE_URL": container.settings.database_url, **env})
    return result.exit_code, result.output


def test_explain_prints_the_decision_in_plain_language(container: Container) -> None:
    container.clock.set(LATE_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, LATE_NY)
    gate, _ = make_gate(container.session_factory, container.clock)
    outcome = gate.deliver(reminder(holder))

    code, out = _cli(container, "compliance", "explain", str(outcome.message_id))

    assert code == 0, out
    assert "Decision: DEFERRED under policy US version 2026.12.1" in out
    assert "local time was 2026-11-23T21:30:00-05:00 (America/New_York)" in out
    assert "deciding rule: US.contact_hours" in out
    assert "because it was outside the contact hours in the cardholder's local time [outside_contact_hours]" in out
    assert "tried again at 2026-11-24T08:00:00-05:00 (2026-11-24T13:00:00Z)" in out
    assert "FAIL US.contact_hours: local time 21:30:00 is outside 08:00-21:00" in out
    assert "PASS US.consent" in out
    assert "per_7_days: 0 of 7 counted contacts in the last 168 hours" in out
    code, out = _cli(container, "compliance", "explain", str(outcome.message_id), "--json")
    assert code == 0 and json.loads(out)["decision"]["rule"] == "US.contact_hours"
    assert _cli(container, "compliance", "explain", "999999")[0] == 1


def test_explain_an_inbound_message(container: Container) -> None:
    holder = add_holder(container.session_factory, LATE_NY)
    with transaction(container.session_factory) as s:
        row = Message(cardholder_id=holder.id, contact_point_id=holder.sms_id, channel="sms", direction="inbound",
                      status="received", author="cardholder", text="STOP", created_at=LATE_NY)
        s.add(row)
        s.flush()
        message_id = row.id
    code, out = _cli(container, "compliance", "explain", str(message_id))
    assert code == 0 and "inbound messages are not gated" in out


def test_export_has_the_reviewer_columns_and_masks_addresses(container: Container, tmp_path: Path) -> None:
    container.clock.set(LATE_NY)  # type: ignore[attr-defined]
    holder = add_holder(container.session_factory, LATE_NY)
    other = add_holder(container.session_factory, LATE_NY, ext="H2", jurisdiction="CN", timezone="Asia/Shanghai",
                       language="zh")
    gate, _ = make_gate(container.session_factory, container.clock)
    deferred = gate.deliver(reminder(holder))
    sent = gate.deliver(reminder(other))
    assert (deferred.status, sent.status) == ("deferred", "sent")

    code, out = _cli(container, "messages", "export", "--format", "jsonl", "--from", "2026-11-24", "--to",
                     "2026-11-25T00:00:00Z")
    assert code == 0, out
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["id"] for r in records] == [deferred.message_id, sent.message_id]
    first, second = records
    assert first["status"] == "deferred" and first["reasons"] == ["outside_contact_hours"]
    assert first["local_time"] == "2026-11-23T21:30:00-05:00" and first["jurisdiction"] == "US"
    assert first["policy_version"] == "2026.12.1" and first["account"] == "A-H1-0042"
    assert second["status"] == "sent" and second["local_time"] == "2026-11-24T10:30:00+08:00"
    assert second["sent_at_utc"] == "2026-11-24T02:30:00Z" and second["template_id"] == "reminder.dpd_1_29"
    assert "【示例银行】" in second["text"]
    assert "*" in first["address_masked"] and "Test Person" not in out

    target = tmp_path / "review.csv"
    code, _ = _cli(container, "messages", "export", "--format", "csv", "--account", "A-H2-0042", "-o", str(target))
    rows = list(csv.DictReader(io.StringIO(target.read_text("utf-8"))))
    assert code == 0 and len(rows) == 1 and tuple(rows[0]) == COLUMNS and rows[0]["status"] == "sent"
    with container.session_factory() as s:  # the console reuses the same service function
        assert [r["id"] for r in message_records(s, account="A-H2-0042")] == [sent.message_id]


def test_export_rejects_a_bad_bound(container: Container) -> None:
    code, out = _cli(container, "messages", "export", "--from", "yesterday")
    assert code != 0 and "--from" in out


def test_lint_passes_on_the_catalog_and_fails_on_forbidden_wording(container: Container, tmp_path: Path) -> None:
    code, out = _cli(container, "compliance", "lint")
    assert code == 0 and "no findings" in out
    broken = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, broken)
    reminders = broken / "templates" / "reminders.yaml"
    reminders.write_text(reminders.read_text("utf-8").replace("Paying soon helps you avoid further late fees.",
                                                              "Pay within 24 hours, deadbeat."), "utf-8")
    code, out = _cli(container, "compliance", "lint", ACCORD_CONFIG_DIR=str(broken))
    assert code == 1
    assert "reminder.dpd_1_29 (en v1): pressure to pay in an unreasonably short time (pressure)" in out
    assert "(insults)" in out
