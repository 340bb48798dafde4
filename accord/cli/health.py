"""`accord health`: the container health checks, so images need no curl and compose files no inline scripts.

    accord health                       the web app answers GET /healthz with 200
    accord health --scheduler           the database answers and no scheduler job is overdue

A scheduler that stopped running jobs leaves their next run times in the past; that, not the mere presence of
a process, is what "unhealthy" means for it.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import typer
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from accord.settings import load_settings
from storage.db import make_engine
from storage.tables.scheduling import scheduler_jobs


def health(
    url: str | None = typer.Option(None, "--url", help="health URL (default http://127.0.0.1:ACCORD_PORT/healthz)"),
    check_scheduler: bool = typer.Option(False, "--scheduler", help="check the scheduler instead of the web app"),
    overdue_s: int = typer.Option(300, "--overdue", min=1, help="seconds a job may be late before it counts"),
    timeout_s: float = typer.Option(5.0, "--timeout", min=0.1, help="seconds to wait for an answer"),
) -> None:
    """Exit 0 when healthy, 1 with the reason otherwise."""
    problem = _scheduler_problem(overdue_s) if check_scheduler else _web_problem(url, timeout_s)
    if problem:
        typer.echo(f"unhealthy: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo("healthy")


def _web_problem(url: str | None, timeout_s: float) -> str | None:
    url = url or f"http://127.0.0.1:{load_settings().accord_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # operator-supplied health URL
            return None if response.status == 200 else f"{url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        return f"{url} answered {exc.code}"
    except OSError as exc:
        return f"{url} unreachable ({exc.__class__.__name__})"


def _scheduler_problem(overdue_s: int) -> str | None:
    engine = make_engine(load_settings().database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            jobs, earliest = conn.execute(
                select(func.count(), func.min(scheduler_jobs.c.next_run_time))
            ).one()
    except SQLAlchemyError as exc:
        return f"database unavailable ({exc.__class__.__name__})"
    finally:
        engine.dispose()
    if not jobs:
        return "no scheduler jobs are registered (has `accord scheduler` started?)"
    if earliest is not None and earliest < time.time() - overdue_s:
        return f"a scheduler job is {int(time.time() - earliest)} s overdue"
    return None
