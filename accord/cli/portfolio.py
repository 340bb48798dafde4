"""`accord import accounts FILE` and `accord demo seed`: thin wrappers around the portfolio import service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from accord.cli.common import NOW_HELP, app_container
from accord.portfolio.demo import DEMO_SIZE, seed_demo
from accord.portfolio.errors import ImportRejected
from accord.portfolio.importer import ImportReport, import_file
from accord.portfolio.importer import Progress as ProgressFn

import_app = typer.Typer(help="Load the bank's files.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo portfolio.", no_args_is_help=True)

# Below this many rows an import takes a blink; a bar would only flicker.
PROGRESS_MIN_BYTES = 200_000


@import_app.command("accounts")
def import_accounts(
    file: Path = typer.Argument(..., help="UTF-8 CSV file; see the README for its columns", dir_okay=False),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP),
) -> None:
    """Create or update cardholders and accounts from a CSV file. Nothing is imported if any row is bad."""
    console = Console(stderr=True)
    show_bar = console.is_terminal and file.is_file() and file.stat().st_size >= PROGRESS_MIN_BYTES
    with app_container(now) as container, _progress(console, show_bar) as progress:
        try:
            report = import_file(container, file, progress=progress)
        except ImportRejected as rejected:
            _print_rejection(file, rejected)
            raise typer.Exit(1) from None
    typer.echo(f"{file}: {_summary(report)}")


@demo_app.command("seed")
def seed(
    force: bool = typer.Option(False, "--force", help="load the demo rows even if the database has cardholders"),
    size: int = typer.Option(DEMO_SIZE, "--size", min=10, max=20_000, help="how many demo cardholders"),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP),
) -> None:
    """Load about 200 demo cardholders across every stage, if the database has none yet."""
    with app_container(now) as container:
        try:
            result = seed_demo(container, force=force, size=size)
        except ImportRejected as rejected:  # pragma: no cover - would mean the generator itself is broken
            _print_rejection(Path("demo portfolio"), rejected)
            raise typer.Exit(1) from None
    if result.report is None:
        typer.echo(f"the database already holds {result.existing} cardholders; demo not loaded (use --force)")
        return
    typer.echo(f"demo portfolio: {_summary(result.report)}")


def _summary(report: ImportReport) -> str:
    summary = (f"{report.rows} rows: {report.created} created, {report.updated} updated, "
               f"{report.unchanged} unchanged; {report.stage_changes} stage changes recorded")
    if report.vulnerabilities:  # most files name none; the usual line stays as it was
        summary += f"; {report.vulnerabilities} vulnerability states set"
    return summary


def _print_rejection(file: Path, rejected: ImportRejected) -> None:
    typer.secho(f"{file}: {rejected}", err=True, fg=typer.colors.RED)
    for error in rejected.errors:
        typer.echo(f"  {error}", err=True)


@contextmanager
def _progress(console: Console, enabled: bool) -> Iterator[ProgressFn | None]:
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done)

        yield update
