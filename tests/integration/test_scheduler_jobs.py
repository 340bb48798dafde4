"""APScheduler wiring: named jobs persisted in the app's database, and `accord scheduler` stopping cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from accord.bootstrap import Container
from scheduler.config import JobTiming
from scheduler.jobs import JOBS, build_scheduler, register_jobs
from scheduler.runtime import scheduler_config
from storage.tables import scheduler_jobs

ROOT = Path(__file__).resolve().parents[2]


def _start(container: Container) -> BackgroundScheduler:
    sched = build_scheduler(container, BackgroundScheduler())
    register_jobs(sched, container)
    sched.start(paused=True)
    return sched


def test_jobs_are_named_persisted_and_single_instance(container: Container) -> None:
    sched = _start(container)
    try:
        jobs = {job.id: job for job in sched.get_jobs()}
        assert set(jobs) == set(JOBS)
        grace = scheduler_config(container).jobs.misfire_grace_s
        for job in jobs.values():
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, grace)
            assert job.func_ref == f"scheduler.jobs:{job.id}_job"
        with container.engine.connect() as conn:
            stored = set(conn.scalars(select(scheduler_jobs.c.id)))
        assert stored == set(JOBS)
    finally:
        sched.shutdown(wait=False)


def test_a_restart_keeps_stored_run_times_and_applies_changed_triggers(container: Container) -> None:
    sched = _start(container)
    before = {job.id: job.next_run_time for job in sched.get_jobs()}
    sched.shutdown(wait=False)

    config = scheduler_config(container)
    container.extras["scheduler_config"] = config.model_copy(update={"jobs": config.jobs.model_copy(
        update={"sweep": JobTiming(cron="45 6 * * *")})})
    sched = _start(container)
    try:
        after = {job.id: job for job in sched.get_jobs()}
        assert after["staging"].next_run_time == before["staging"]  # unchanged: a missed run is still caught up
        assert str(after["sweep"].trigger).startswith("cron[") and "minute='45'" in str(after["sweep"].trigger)
        assert after["sweep"].next_run_time.minute == 45
    finally:
        sched.shutdown(wait=False)


def test_accord_scheduler_runs_one_process_and_stops_cleanly_on_sigterm(settings: object, db_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": db_url, "ACCORD_ENV": "test", "ACCORD_LOG_LEVEL": "WARNING"}
    child = subprocess.Popen([sys.executable, "-m", "accord.cli.main", "scheduler"], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 60
        assert child.stdout is not None
        while time.monotonic() < deadline:
            line = child.stdout.readline()
            lines.append(line)
            if not line or sum("scheduler: job" in seen for seen in lines) == len(JOBS):
                break
        assert any("job staging" in line for line in lines), "".join(lines)
        child.send_signal(signal.SIGTERM)
        output, _ = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 0, output
    assert "SIGTERM received" in output and "scheduler: stopped" in output


def test_each_job_calls_its_service(container: Container) -> None:
    from scheduler import jobs
    from tests.reminder_builders import build, outbox_rows

    build(container, dpd=10, stage="dpd_1_29")
    build(container, dpd=89, stage="dpd_60_89")
    build_scheduler(container, BackgroundScheduler())  # binds the jobs to this container
    container.clock.advance(timedelta(days=1))  # type: ignore[attr-defined]
    jobs.staging_job()
    jobs.followups_job()
    jobs.sweep_job()
    jobs.dispatch_job()
    jobs.reconcile_job()
    rows = outbox_rows(container)
    assert len(rows) == 2 and {row.status for row in rows} == {"sent"}
    assert {row.template_id for row in rows} == {"reminder.dpd_1_29", "reminder.dpd_90_plus"}
