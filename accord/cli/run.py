"""`accord run` (what `make run` calls): migrate, seed the demo portfolio into an empty database, then start every
process Accord has as a child and supervise them until Ctrl-C or SIGTERM stops them all.

The process list is data: each entry names an `accord` sub-command (or another program) and is started only
when that command exists, so a new process is one line in PROCESSES.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import typer

STOP_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 60.0
RASA_READY_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class RunOptions:
    host: str
    port: int


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: Callable[[RunOptions], list[str]]
    # Started only when this returns True (e.g. the sub-command is registered, or a URL is configured).
    available: Callable[[], bool]


def _accord(*args: str) -> list[str]:
    return [sys.executable, "-m", "accord.cli.main", *args]


def accord_command_exists(name: str) -> bool:
    import typer.main

    from accord.cli.main import app

    group: Any = typer.main.get_command(app)
    return name in group.commands


PROCESSES: tuple[ProcessSpec, ...] = (
    ProcessSpec("web", lambda o: _accord("serve", "--host", o.host, "--port", str(o.port)),
                lambda: accord_command_exists("serve")),
    ProcessSpec("scheduler", lambda o: _accord("scheduler"), lambda: accord_command_exists("scheduler")),
    # TELEGRAM_POLLING=true with a bot token: local development without a public HTTPS address.
    ProcessSpec("telegram-poll", lambda o: _accord("telegram", "poll"), lambda: _telegram_polling()),
    # The Rasa servers (one per language) and the action server, when `make` has built .venv-rasa and the models.
    ProcessSpec("rasa-en", lambda o: _accord("nlu", "serve", "en"), lambda: _rasa_ready()),
    ProcessSpec("rasa-zh", lambda o: _accord("nlu", "serve", "zh"), lambda: _rasa_ready()),
    ProcessSpec("rasa-actions", lambda o: _accord("nlu", "actions", "--accord-url", f"http://127.0.0.1:{o.port}"),
                lambda: _rasa_ready()),
)


def _rasa_ready() -> bool:
    from accord.dialogue.rasa_runtime import prepare_local_run

    return prepare_local_run()


def _telegram_polling() -> bool:
    from accord.settings import load_settings

    settings = load_settings()
    return settings.telegram_polling and settings.telegram_configured


def run(
    host: str | None = typer.Option(None, "--host", help="web app interface (default ACCORD_HOST, 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="web app port (default ACCORD_PORT)"),
    seed: bool = typer.Option(True, "--seed/--no-seed", help="load the demo portfolio into an empty database"),
    dialogue: bool = typer.Option(True, "--dialogue/--no-dialogue",
                                  help="start the Rasa servers when their models are trained"),
) -> None:
    """Migrate, seed an empty database with the demo portfolio, start every process, print the URLs."""
    from accord.cli.common import app_container
    from bot.channels.registry import describe_channels

    with app_container(run_migrations=True) as container:
        settings = container.settings
        typer.echo(f"database {settings.describe()['database']} is migrated")
        if seed:
            _seed(container)
        channels = describe_channels(container.extras.get("channels", {}))
    options = RunOptions(host=host or settings.accord_host, port=port or settings.accord_port)
    wanted = [spec for spec in PROCESSES if dialogue or not spec.name.startswith("rasa")]
    supervisor = Supervisor([spec for spec in wanted if spec.available()], options)
    raise typer.Exit(supervisor.run(lambda: _announce(options, channels, supervisor.names())))


def _seed(container: Any) -> None:
    try:
        from accord.portfolio.demo import seed_demo
    except ImportError:
        typer.echo("demo portfolio: not available in this build")
        return
    result = seed_demo(container)
    if result.seeded:
        typer.echo("demo portfolio: loaded into the empty database")
    else:
        typer.echo(f"demo portfolio: skipped, the database already has {result.existing} cardholders")


def _announce(options: RunOptions, channels: dict[str, str], names: list[str]) -> None:
    shown = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host
    base = f"http://{shown}:{options.port}"
    typer.echo("")
    typer.echo(f"Accord is running ({', '.join(names)}). Open:")
    typer.echo(f"  simulator   {base}/simulator")
    typer.echo(f"  console     {base}/console")
    typer.echo(f"  health      {base}/healthz")
    typer.echo(f"  metrics     {base}/metrics")
    typer.echo("Channels: " + ", ".join(f"{channel} via {adapter}" for channel, adapter in channels.items()))
    typer.echo("Press Ctrl-C to stop.")
    sys.stdout.flush()  # stdout is block-buffered when redirected to a log file; show the URLs now


class Supervisor:
    """Starts the children, waits for a stop signal or a child's death, then stops every child."""

    def __init__(self, specs: list[ProcessSpec], options: RunOptions) -> None:
        self.specs = specs
        self.options = options
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._stop = threading.Event()
        self._signal: int | None = None

    def names(self) -> list[str]:
        return [spec.name for spec in self.specs]

    def run(self, on_ready: Callable[[], None]) -> int:
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for spec in self.specs:
                self.children.append((spec.name, _spawn(spec.argv(self.options))))
            failed = self._wait_ready()
            if failed is None and not self._stop.is_set():
                on_ready()
                failed = self._supervise()
            return self._shutdown(failed)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signal = signum
        self._stop.set()

    def _wait_ready(self) -> str | None:
        if not any(name == "web" for name, _ in self.children):
            return None
        host = "127.0.0.1" if self.options.host in ("0.0.0.0", "::") else self.options.host
        url = f"http://{host}:{self.options.port}/healthz"
        # /healthz also asks the dialogue engine, and the Rasa servers take a while to load their models.
        slow = any(name.startswith("rasa") for name, _ in self.children)
        deadline = time.monotonic() + (RASA_READY_TIMEOUT_S if slow else READY_TIMEOUT_S)
        while time.monotonic() < deadline and not self._stop.is_set():
            dead = self._dead_child()
            if dead is not None:
                return dead
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return None
            except OSError:
                self._stop.wait(0.2)
        return None if self._stop.is_set() else "web (not ready in time)"

    def _supervise(self) -> str | None:
        while not self._stop.wait(0.5):
            dead = self._dead_child()
            if dead is not None:
                return dead
        return None

    def _dead_child(self) -> str | None:
        for name, child in self.children:
            code = child.poll()
            if code is not None:
                return f"{name} (exit code {code})"
        return None

    def _shutdown(self, failed: str | None) -> int:
        if failed is not None:
            typer.secho(f"accord: {failed} stopped unexpectedly; stopping everything", err=True,
                        fg=typer.colors.RED)
        else:
            typer.echo("stopping ...")
        # The reverse of start order: the scheduler stops sending before the web app stops answering.
        for _name, child in reversed(self.children):
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for name, child in reversed(self.children):
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                typer.secho(f"accord: {name} did not stop within {STOP_TIMEOUT_S:.0f}s; killing it", err=True)
                child.kill()
                child.wait()
        if failed is None:
            typer.echo("stopped")
        return 0 if failed is None else 1


def _spawn(argv: list[str]) -> subprocess.Popen[bytes]:
    # Own session: a terminal's Ctrl-C reaches only `accord run`, which then stops children in order.
    # The parent-death signal makes a child exit even if `accord run` itself is killed with SIGKILL.
    return subprocess.Popen(argv, start_new_session=True, preexec_fn=_die_with_parent, env=os.environ.copy())


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
