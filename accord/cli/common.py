"""Helpers shared by the CLI commands: building the container, `--now`, and clean error exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from accord.bootstrap import Container, bootstrap
from accord.config_files import ConfigError
from accord.settings import SettingsError
from core.clock import Clock, FixedClock, RunningClock, SystemClock, parse_instant

NOW_HELP = "Pretend the current time is this ISO-8601 instant with an offset, e.g. 2026-11-23T09:00:00+08:00"


def clock_from(now: str | None, *, running: bool = False) -> Clock:
    """`running`: the clock starts at `--now` and then moves with real time (long-running workers)."""
    if now is None:
        return SystemClock()
    try:
        start = parse_instant(now)
        return RunningClock(start) if running else FixedClock(start)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--now") from exc


@contextmanager
def app_container(now: str | None = None, *, run_migrations: bool = True,
                  running_clock: bool = False) -> Iterator[Container]:
    try:
        container = bootstrap(clock=clock_from(now, running=running_clock), run_migrations=run_migrations)
    except (ConfigError, SettingsError) as exc:
        typer.secho(f"accord: configuration error\n{exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(2) from exc
    try:
        yield container
    finally:
        container.close()


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(message, err=True, fg=typer.colors.RED)
    return typer.Exit(code)
