"""`accord simulate --from T1 --to T2 [--step 30m]`: replay the reminder engine with a simulated clock.

By default the replay runs on a scratch copy of the configured database, made at the start and dropped at the
end, so trying a policy change on the real portfolio leaves the real records untouched. `--database-url` runs
on a database you copied yourself; `--in-place` on the configured one (refused in production). Channels are
always the sandbox: a simulation never reaches Twilio or Telegram, whatever credentials are configured.
`--inbound FILE` replays cardholders' messages through the real inbound pipeline (scheduler/sim_replay.py).
"""

from __future__ import annotations

import json
import secrets
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
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
    inbound: Path | None = typer.Option(None, "--inbound", dir_okay=False,
                                        help="CSV time,external_id,channel,text: cardholders' messages to replay"),
    dialogue: str = typer.Option("auto", "--dialogue",
                                 help="with --inbound: rasa (local Rasa servers over the simulation), none (every "
                                      "conversation goes to an officer), auto (rasa when RASA_URL is set)"),
) -> None:
    """Run the real staging, sweep and dispatch pipeline at each step against the sandbox channel, then print
    what was sent, deferred and blocked: by reason, stage, local hour and language."""
    from scheduler.scratch_copy import ScratchCopyError, scratch_copy
    from scheduler.simulate import parse_step

    try:
        first, last, every = parse_instant(start), parse_instant(end), parse_step(step)
    except ValueError as exc:
        raise fail(f"accord simulate: {exc}", 2) from exc
    if dialogue not in ("auto", "none", "rasa"):
        raise fail(f"accord simulate: --dialogue must be auto, none or rasa, not {dialogue!r}", 2)
    settings = load_settings()
    use_rasa = inbound is not None and (dialogue == "rasa" or (dialogue == "auto" and bool(settings.rasa_url)))
    if use_rasa:
        from scheduler.sim_dialogue import SimDialogueError, check_ready

        try:
            check_ready()
        except SimDialogueError as exc:
            raise fail(f"accord simulate: {exc}", 2) from exc
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
            summary = _run(settings, url, first, last, every, examples, console, inbound, use_rasa)
            if keep and not (database_url or in_place):
                console.print(f"scratch copy kept at {url}")
    except ScratchCopyError as exc:
        raise fail(f"accord simulate: {exc}", 2) from exc
    if as_json:
        typer.echo(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    else:
        _print(summary)


def _run(settings: Settings, url: str, first: Any, last: Any, every: Any, examples: bool,
         console: Console, inbound_file: Path | None = None, use_rasa: bool = False) -> dict[str, Any]:
    from accord.bootstrap import bootstrap
    from scheduler.sim_report import example_threads
    from scheduler.simulate import simulate as replay

    overrides: dict[str, Any] = {name: None for name in _PROVIDER_SETTINGS}
    # Never the configured Rasa servers: their action server writes into the real database (sim_dialogue.py).
    # The simulation's own internal API gets a token of its own, for the local action server it may start.
    overrides.update(rasa_url=None, rasa_token=None, accord_internal_api_token=secrets.token_urlsafe(32))
    values = {**settings.model_dump(), **overrides, "database_url": url, "telegram_polling": False}
    sim_settings = Settings(**values, _env_file=None)  # type: ignore[call-arg]
    try:
        container = bootstrap(sim_settings, clock=FixedClock(first), run_migrations=True,
                              channels=sandbox_channels())
    except (ConfigError, SettingsError) as exc:
        raise fail(f"accord: configuration error\n{exc}", 2) from exc
    stack = None
    try:
        _refuse_real_providers(container)
        if "gate" not in container.extras:
            raise fail("accord simulate: no compliance gate is wired in this build", 2)
        inbound = None
        if inbound_file is not None:
            inbound, stack = _inbound(container, inbound_file, first, last, use_rasa, console)
        console.print(f"simulating {first.isoformat()} .. {last.isoformat()} every {every} on the sandbox channel")

        def progress(at: Any, tally: Any) -> None:
            if tally.steps % 48 == 1:
                console.print(f"  {at.isoformat()}  sent so far {tally.outcomes.get('sent', 0)}", highlight=False)

        tally = replay(container, first, last, every, progress=progress, inbound=inbound)
        summary = tally.as_dict()
        summary["period"] = {"from": first.isoformat(), "to": last.isoformat(), "step": str(every)}
        if examples:
            summary["examples"] = example_threads(container, first, last)
        if inbound is not None:
            summary["inbound"] = {**inbound.tally.as_dict(), "dialogue": "rasa" if use_rasa else "none"}
            if examples:
                summary["inbound"]["timelines"] = inbound.timelines(last)
        return summary
    finally:
        if stack is not None:
            stack.close()
        container.close()


def _inbound(container: Any, path: Path, first: Any, last: Any, use_rasa: bool, console: Console) -> Any:
    """The checked messages and, with use_rasa, the local dialogue stack; refuses the file as a whole."""
    from scheduler.sim_dialogue import SimDialogueError, start_dialogue
    from scheduler.sim_inbound import InboundFileRejected, read_inbound
    from scheduler.sim_replay import InboundReplay

    try:
        messages = read_inbound(path, container.session_factory, first, last)
    except InboundFileRejected as rejected:
        typer.secho(f"{path}: {rejected}", err=True, fg=typer.colors.RED)
        for error in rejected.errors:
            typer.echo(f"  {error}", err=True)
        raise typer.Exit(2) from None
    stack = None
    if use_rasa:
        console.print("starting local Rasa servers for the simulation (this takes a minute or two) ...")
        try:
            stack = start_dialogue(container)
        except SimDialogueError as exc:
            raise fail(f"accord simulate: {exc}", 2) from exc
    console.print(f"replaying {len(messages)} inbound message(s) from {path.name} "
                  f"({'Rasa dialogue' if use_rasa else 'no dialogue engine: conversations go to an officer'})")
    return InboundReplay(container, messages), stack


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
    if "inbound" in summary:
        _print_inbound(console, summary["inbound"])
    for thread in summary.get("examples", []):
        console.print(f"\n[bold]{thread['stage']} / {thread['language']}[/bold] — account {thread['account']} "
                      f"({thread['timezone']})")
        for line in thread["messages"]:
            console.print(f"  {line['local_time']}  [{line['template_id']}] {line['text']}", highlight=False)


def _print_inbound(console: Console, inbound: dict[str, Any]) -> None:
    console.print(f"\nInbound: {inbound['replayed']} message(s) replayed (dialogue: {inbound['dialogue']})")
    console.print(_table("Inbound outcomes", {k: {"count": v} for k, v in inbound["outcomes"].items()}, ["count"]))
    console.print(_table("Bot replies", {k: {"count": v} for k, v in inbound["bot_replies"].items()}, ["count"]))
    if inbound["reply_reasons"]:
        console.print(_table("Bot replies deferred and blocked by reason", inbound["reply_reasons"],
                             ["deferred", "blocked"]))
    if inbound["escalations"]:
        console.print(_table("Escalations opened", {k: {"count": v} for k, v in inbound["escalations"].items()},
                             ["count"]))
    if inbound["protective_states"]:
        console.print(_table("Protective states set", inbound["protective_states"], ["active", "proposed"]))
    for thread in inbound.get("timelines", []):
        console.print(f"\n[bold]conversation[/bold] — account {thread['account']} ({thread['language']}, "
                      f"{thread['timezone']})", highlight=False)
        for turn in thread["turns"]:
            console.print(f"  {turn['time']}  [{turn['channel']}] cardholder: {turn['wrote']}", highlight=False,
                          markup=False)
            for reply in turn["replies"]:
                why = f" ({', '.join(reply['reasons'])})" if reply["reasons"] else ""
                console.print(f"      -> {reply['status']}{why} [{reply['template_id']}] {reply['text'] or ''}",
                              highlight=False, markup=False)
            for reason in turn["escalations"]:
                console.print(f"      escalation opened: {reason}", highlight=False)
            for state in turn["protective_states"]:
                console.print(f"      protective state set: {state}", highlight=False)
        for line in thread["reminders_after"]:
            why = f" ({', '.join(line['reasons'])})" if line["reasons"] else ""
            times = line["from"] if line["count"] == 1 else f"{line['from']} .. {line['to']} x{line['count']}"
            console.print(f"  reminder {times}  [{line['channel']}] {line['template_id']}: {line['status']}{why}",
                          highlight=False, markup=False)


def _table(title: str, rows: dict[str, dict[str, int]], columns: list[str]) -> Table:
    table = Table(title=title)
    table.add_column("")
    for column in columns:
        table.add_column(column, justify="right")
    for key, values in rows.items():
        table.add_row(key, *(str(values.get(column, 0)) for column in columns))
    return table
