"""Review pages over HTTP on both backends: the export is byte for byte the CLI's, and the audit page reports
a tampered chain."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from accord.bootstrap import Container
from accord.cli.main import app as cli
from storage.db import transaction
from storage.tables import AuditEvent
from tests.console.seed import PASSWORD, seed


@pytest.fixture
def reviewer(container: Container) -> Iterator[TestClient]:
    from web.app import create_app

    with transaction(container.session_factory) as s:
        seed(s, container.clock.now())
    with TestClient(create_app(container)) as client:
        page = client.get("/console/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        client.post("/console/login", data={"username": "cora", "password": PASSWORD, "csrf_token": token})
        yield client


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_console_export_is_the_cli_export(reviewer: TestClient, monkeypatch: pytest.MonkeyPatch, db_url: str,
                                          fmt: str) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    for options in ([], ["--account", "A-us"], ["--from", "2026-11-22", "--to", "2026-11-23"]):
        query = "&".join(f"{options[i][2:]}={options[i + 1]}" for i in range(0, len(options), 2))
        console = reviewer.get(f"/console/review/export?format={fmt}&{query}")
        assert console.status_code == 200
        result = CliRunner().invoke(cli, ["messages", "export", "--format", fmt, *options])
        assert result.exit_code == 0, result.output
        assert console.content == result.stdout_bytes, options


def test_audit_page_reports_an_edited_record(reviewer: TestClient, container: Container) -> None:
    assert "Chain intact" in reviewer.get("/console/review/audit").text
    with transaction(container.session_factory) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(actor="user:mallory"))
    page = reviewer.get("/console/review/audit").text
    assert "Chain broken" in page and "was edited" in page
