"""`accord health`: the check the container health checks run, against a real database."""

from __future__ import annotations

import socket
import time

from sqlalchemy import insert
from typer.testing import CliRunner

from accord.cli.main import app
from storage.db import make_engine
from storage.tables.scheduling import scheduler_jobs


def run(db_url: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["health", *args], env={"DATABASE_URL": db_url, "ACCORD_ENV": "test"})
    return result.exit_code, result.output


def add_job(db_url: str, job_id: str, next_run: float | None) -> None:
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(insert(scheduler_jobs).values(id=job_id, next_run_time=next_run, job_state=b"x"))
    engine.dispose()


def test_scheduler_health_follows_its_jobs(db_url: str) -> None:
    code, output = run(db_url, "--scheduler")
    assert code == 1 and "no scheduler jobs are registered" in output

    add_job(db_url, "dispatch", time.time() + 5)
    add_job(db_url, "paused", None)
    assert run(db_url, "--scheduler") == (0, "healthy\n")

    add_job(db_url, "sweep", time.time() - 3600)
    code, output = run(db_url, "--scheduler", "--overdue", "300")
    assert code == 1 and "overdue" in output


def test_scheduler_health_without_a_database() -> None:
    code, output = run("postgresql+psycopg://accord@127.0.0.1:1/none", "--scheduler")
    assert code == 1 and "database unavailable" in output and "127.0.0.1:1" not in output


def test_web_health_against_a_closed_port(db_url: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, output = run(db_url, "--url", f"http://127.0.0.1:{port}/healthz", "--timeout", "2")
    assert code == 1 and "unreachable" in output
