"""`accord simulate --from T1 --to T2 [--step 30m]`: replay the reminder engine with a simulated clock.

By default the replay runs on a scratch copy of the configured database, made at the start and dropped at the
end, so trying a policy change on the real portfolio leaves the real records untouched. `--database-url` runs
on a database you copied yourself; `--in-place` on the configured one (refused in production). Channels are
always the sandbox: a simulation never reaches Twilio or Telegram, whatever credentials are configured.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from accord.cli.common import fail
from accord.config_files import ConfigError
from accord.settings import Settings, SettingsError, load_settings
from core.clock import FixedClock, parse_instant

# Settings that would let anything reach a real provider: cleared for every simulation.
_PROVIDER_SETTINGS = ("twilio_account_sid", "twilio_auth_token", "twilio_messaging_service_sid", "twilio_from_number",
                      "twilio_api_base", "telegram_bot_token", "telegram_webhook_secret", "telegram_api_base")


def simulate(
    start: str = typer.Option(..., "--from", help="first simulated instant, ISO-8601 with offset"),
    end: str = typer.Option(..., "--to", help="last simulated instant, ISO-8601 with offset"),
    step: str = typer.Option("30m", "--step", help="clock step: 15m, 30m, 1h, 6h, 1d ..."),
    database_url: str | None = typer.Option(None, "--database-url",
                                            help="run on this database (a copy you made) instead of a scratch copy"),
    in_place: bool = typer.Option(False, "--in-place", help="run on DATABASE_URL itself (never in production)"),
    keep: bool = typer.Option(False, "--keep", help="keep the scratch copy afterwards and print its URL"),
    examples: bool = typer.Option(False, "--examples", help="print one message thread per stage and language"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Run the real staging, sweep and dispatch pipeline at each step against the sandbox channel, then print
    what was sent, deferred and blocked: by reason, stage, local hour and language."""
    from scheduler.scratch_copy import ScratchCopyError, scratch_copy
    from scheduler.simulate import parse_step

    try:
        first, last, every = parse_instant(start), parse_instant(end), parse_step(step)
    except ValueError as exc:
        raise fail(f"accord simulate: {exc}", 2) from exc
    settings = load_settings()
    if in_place and settings.accord_env == "production":
        raise fail("accord simulate: --in-place is refused in production; it would write simulated messages "
                   "into the real records. Run without it (a scratch copy) or with --database-url.", 2)
    console = Console(stderr=True)
    where: AbstractContextManager[str]
    if database_url or in_place:
        where = nullcontext(database_url or settings.database_url)
    else:
        console.print(f"copying {settings.describe()['database']} to a scratch database ...")
        where = scratch_copy(settings.database_url, keep=keep,
                             progress=lambda table, n: console.print(f"  {table}: {n} rows", highlight=False))
    try:
        with where as url:
            summary = _run(settings, url, first, last, every, examples, console)
            if keep and not (database_url or in_place):
                console.print(f"scratch copy kept at {url}")
    except ScratchCopyError as exc:
        raise fail(f"accord simulate: {exc}", 2) from exc
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    else:
        _print(summary)


def _run(settings: Settings, url: str, first: Any, last: Any, every: Any, examples: bool,
         console: Console) -> dict[str, Any]:
    from accord.bootstrap import bootstrap
    from scheduler.sim_report import example_threads
    from scheduler.simulate import simulate as replay

    overrides: dict[str, Any] = {name: None for name in _PROVIDER_SETTINGS}
    values = {**settings.model_dump(), **overrides, "database_url": url, "telegram_polling": False}
    sim_settings = Settings(**values, _env_file=None)  # type: ignore[call-arg]
    try:
        container = bootstrap(sim_settings, clock=FixedClock(first), run_migrations=True,
                              channels=sandbox_channels())
    except (ConfigError, SettingsError) as exc:
        raise fail(f"accord: configuration error\n{exc}", 2) from exc
    try:
        _refuse_real_providers(container)
        if "gate" not in container.extras:
            raise fail("accord simulate: no compliance gate is wired in this build", 2)
        console.print(f"simulating {first.isoformat()} .. {last.isoformat()} every {every} on the sandbox channel")

        def progress(at: Any, tally: Any) -> None:
            if tally.steps % 48 == 1:
                console.print(f"  {at.isoformat()}  sent so far {tally.outcomes.get('sent', 0)}", highlight=False)

        tally = replay(container, first, last, every, progress=progress)
        summary = tally.as_dict()
        summary["period"] = {"from": first.isoformat(), "to": last.isoformat(), "step": str(every)}
        if examples:
            summary["examples"] = example_threads(container, first, last)
        return summary
    finally:
        container.close()


def sandbox_channels() -> dict[Any, Any]:
    from bot.channels.sandbox import SandboxChannel
    from core.enums import Channel

    return {channel: SandboxChannel(channel) for channel in Channel}


def _refuse_real_providers(container: Any) -> None:
    names = {getattr(adapter, "name", "?") for adapter in container.extras.get("channels", {}).values()}
    if names != {"sandbox"}:
        raise fail(f"accord simulate: refusing to run with real channel adapters wired ({sorted(names)})", 2)


def _print(summary: dict[str, Any]) -> None:
    console = Console()
    period = summary["period"]
    console.print(f"Simulated {period['from']} .. {period['to']} every {period['step']}: {summary['steps']} steps, "
                  f"{summary['planned']} messages planned")
    console.print(_table("Outcomes", {k: {"count": v} for k, v in summary["outcomes"].items()}, ["count"]))
    statuses = ["sent", "deferred", "blocked", "failed", "review"]
    console.print(_table("Deferred and blocked by reason", summary["reasons"], ["deferred", "blocked"]))
    console.print(_table("By stage", summary["by_stage"], statuses))
    console.print(_table("By local hour (cardholder's time)", summary["by_local_hour"], statuses))
    console.print(_table("By language", summary["by_language"], statuses))
    if summary["staging"]:
        console.print(_table("Staging and follow-ups", {k: {"count": v} for k, v in summary["staging"].items()},
                             ["count"]))
    for thread in summary.get("examples", []):
        console.print(f"\n[bold]{thread['stage']} / {thread['language']}[/bold] — account {thread['account']} "
                      f"({thread['timezone']})")
        for line in thread["messages"]:
            console.print(f"  {line['local_time']}  [{line['template_id']}] {line['text']}", highlight=False)


def _table(title: str, rows: dict[str, dict[str, int]], columns: list[str]) -> Table:
    table = Table(title=title)
    table.add_column("")
    for column in columns:
        table.add_column(column, justify="right")
    for key, values in rows.items():
        table.add_row(key, *(str(values.get(column, 0)) for column in columns))
    return table
