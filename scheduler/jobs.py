"""APScheduler wiring: named jobs persisted in the app's database, one scheduler process.

Jobs are stored by reference ("scheduler.jobs:sweep_job"), so a restart finds them with their next run time and
runs a missed one once (coalesce) if it is still within the misfire grace. `max_instances=1` keeps a slow run
from overlapping the next. Each job is a thin call into a service, which handles every item in its own
transaction and logs, rather than raises, one item's failure.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from accord.bootstrap import Container
from scheduler.config import JobTiming
from scheduler.dispatcher import Dispatcher
from scheduler.followups import run_followups
from scheduler.reconcile import Reconciler
from scheduler.runtime import scheduler_config
from scheduler.staging import run_staging
from scheduler.sweep import run_sweep
from storage.tables.scheduling import SCHEDULER_JOBS_TABLE

log = logging.getLogger(__name__)

JOBS = ("staging", "sweep", "followups", "dispatch", "reconcile")
# A dispatch run drains what is due but yields after at most this long (and before its next tick).
DISPATCH_RUN_MAX_S = 50.0

_state: dict[str, Any] = {}
_stop = threading.Event()


def staging_job() -> None:
    run_staging(_container())


def sweep_job() -> None:
    run_sweep(_container())


def followups_job() -> None:
    run_followups(_container())


def dispatch_job() -> None:
    container = _container()
    dispatcher = _state.get("dispatcher")
    if dispatcher is None:
        dispatcher = _state["dispatcher"] = Dispatcher(container)
    every = scheduler_config(container).jobs.dispatch.every_seconds or DISPATCH_RUN_MAX_S
    # Yield before the next tick is due, so ticks are not skipped as "already running"; the next one goes on.
    dispatcher.drain(max_seconds=min(DISPATCH_RUN_MAX_S, max(1.0, every * 0.8)), stop=_stop)


def reconcile_job() -> None:
    container = _container()
    Reconciler(container, scheduler_config(container)).reconcile_stale()


def build_scheduler(container: Container, scheduler: BaseScheduler | None = None) -> BaseScheduler:
    """A scheduler whose job store is the app's database, with every configured job registered."""
    config = scheduler_config(container)
    _state.clear()  # a dispatcher left from an earlier container must not be reused
    _state["container"] = container
    _stop.clear()
    scheduler = scheduler or BlockingScheduler(timezone=UTC)
    scheduler.configure(
        jobstores={"default": SQLAlchemyJobStore(engine=container.engine, tablename=SCHEDULER_JOBS_TABLE)},
        executors={"default": ThreadPoolExecutor(max_workers=len(JOBS))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": config.jobs.misfire_grace_s},
        timezone=UTC,
    )
    return scheduler


def register_jobs(scheduler: BaseScheduler, container: Container) -> None:
    """Add each configured job before the scheduler starts. A stored job whose trigger is unchanged is left as
    stored, with its next run time, so a restart catches up on a run it missed instead of skipping it."""
    config = scheduler_config(container)
    store = SQLAlchemyJobStore(engine=container.engine, tablename=SCHEDULER_JOBS_TABLE)
    store.start(scheduler, "default")  # only to read what is stored (creates the table if it is missing)
    stored = {job.id: job for job in store.get_all_jobs()}
    for name in JOBS:
        timing: JobTiming = getattr(config.jobs, name)
        trigger = trigger_for(timing)
        existing = stored.get(name)
        if existing is not None and str(existing.trigger) == str(trigger):
            continue
        scheduler.add_job(f"scheduler.jobs:{name}_job", trigger, id=name, name=name, replace_existing=True)
    for job_id in set(stored) - set(JOBS):
        store.remove_job(job_id)  # a job this version no longer has


def request_stop() -> None:
    """Ask running jobs to wrap up (the dispatcher finishes its current row and returns)."""
    _stop.set()


def trigger_for(timing: JobTiming) -> Any:
    if timing.cron is not None:
        return CronTrigger.from_crontab(timing.cron, timezone=UTC)
    return IntervalTrigger(seconds=timing.every_seconds, timezone=UTC)


def _container() -> Container:
    container = _state.get("container")
    if container is None:
        raise RuntimeError("scheduler jobs run only inside `accord scheduler` (build_scheduler sets the container)")
    return container
