"""The reminder engine's commands: `accord scheduler`, `accord dispatch`, and one-off `stage`, `sweep`,
`followups` and `reconcile` runs (each takes `--now`, so a day can be replayed)."""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import typer

from accord.cli.common import NOW_HELP, app_container
from accord.process_heap import freeze_startup_objects

METRICS_HELP = "serve Prometheus metrics of this process on this port"


def scheduler(metrics_port: int | None = typer.Option(None, "--metrics-port", help=METRICS_HELP)) -> None:
    """Run THE scheduler process (one per deployment): staging, sweep, follow-ups, dispatch and reconciliation
    jobs, persisted in the database. Stops cleanly on Ctrl-C or SIGTERM."""
    from apscheduler.events import EVENT_SCHEDULER_STARTED

    from scheduler.jobs import build_scheduler, register_jobs, request_stop

    with app_container() as container:
        _serve_metrics(container, metrics_port)
        sched = build_scheduler(container)
        register_jobs(sched, container)
        freeze_startup_objects()

        def stop(signum: int, _frame: FrameType | None) -> None:
            typer.echo(f"scheduler: {signal.Signals(signum).name} received, finishing running jobs")
            request_stop()
            sched.shutdown(wait=True)

        _on_signals(stop)
        sched.add_listener(lambda _event: _announce(sched), EVENT_SCHEDULER_STARTED)
        sched.start()  # BlockingScheduler: runs the jobs in this process until shutdown
        typer.echo("scheduler: stopped")


def _announce(sched: Any) -> None:
    for job in sched.get_jobs():
        typer.echo(f"scheduler: job {job.id:<10} next run {job.next_run_time}")


def dispatch(
    worker_id: str | None = typer.Option(None, "--worker-id", help="name in claimed_by (default host:pid)"),
    once: bool = typer.Option(False, "--once", help="drain what is due now, then exit"),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP + " (without --once the clock runs on from there)"),
    metrics_port: int | None = typer.Option(None, "--metrics-port", help=METRICS_HELP),
) -> None:
    """Run an outbox dispatcher. Start as many as you like, on as many machines: each row goes to exactly one."""
    from scheduler.dispatcher import Dispatcher

    # A worker loop on a frozen clock would never reach a row handed back for a few seconds (a rate limit, a retry).
    with app_container(now, running_clock=not once) as container:
        _serve_metrics(container, metrics_port)
        dispatcher = Dispatcher(container, worker_id)
        freeze_startup_objects()
        if once:
            report = dispatcher.drain()
        else:
            stop_event = threading.Event()
            _on_signals(lambda *_: stop_event.set())
            typer.echo(f"dispatcher {dispatcher.worker_id}: running (Ctrl-C stops after the current batch)")
            report = dispatcher.run_forever(stop_event)
        _print(report.as_dict())


def stage(now: str | None = typer.Option(None, "--now", help=NOW_HELP)) -> None:
    """Apply new payments and recompute days past due and stages (what the hourly staging job does)."""
    from scheduler.staging import run_staging

    with app_container(now) as container:
        _print(run_staging(container).as_dict())


def sweep(now: str | None = typer.Option(None, "--now", help=NOW_HELP)) -> None:
    """Plan reminders for every account due a touch. Running it twice for the same day adds nothing."""
    from scheduler.sweep import run_sweep

    with app_container(now) as container:
        _print(run_sweep(container).as_dict())


def followups(now: str | None = typer.Option(None, "--now", help=NOW_HELP)) -> None:
    """Promise and installment follow-ups: reminders, kept or broken promises, missed installments."""
    from scheduler.followups import run_followups

    with app_container(now) as container:
        _print(run_followups(container).as_dict())


def reconcile(now: str | None = typer.Option(None, "--now", help=NOW_HELP)) -> None:
    """Settle outbox rows left in `sending` by a dispatcher that died: ask the provider, else flag for review."""
    from scheduler.reconcile import Reconciler
    from scheduler.runtime import scheduler_config

    with app_container(now) as container:
        _print(dict(Reconciler(container, scheduler_config(container)).reconcile_stale()))


def register(app: typer.Typer) -> None:
    app.command("scheduler")(scheduler)
    app.command("dispatch")(dispatch)
    app.command("stage")(stage)
    app.command("sweep")(sweep)
    app.command("followups")(followups)
    app.command("reconcile")(reconcile)


def _serve_metrics(container: Any, port: int | None) -> None:
    if port is not None:
        from accord.metrics import metrics_for, serve_metrics

        serve_metrics(metrics_for(container), port, container.settings.accord_host)


def _on_signals(handler: Callable[[int, FrameType | None], Any]) -> None:
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _print(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
