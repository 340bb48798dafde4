"""`accord status [--json]`: the portfolio and the queues at a glance."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from accord.cli.common import NOW_HELP, app_container
from accord.status import CONTACT_STATES, collect_status


def status(
    as_json: bool = typer.Option(False, "--json", help="print one JSON document instead of tables"),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP),
) -> None:
    """Accounts by stage, contact points by state, outbox depth, open escalations and policy versions."""
    with app_container(now) as container:
        snapshot = collect_status(container)
    if as_json:
        typer.echo(json.dumps(snapshot, indent=2, ensure_ascii=False))
        return
    _print_tables(snapshot)


def _print_tables(snapshot: dict[str, Any]) -> None:
    console = Console()
    console.print(f"Accord status as of {snapshot['as_of']} ({snapshot['database']})")
    console.print(f"{snapshot['cardholders']} cardholders")
    console.print(_pairs("Accounts by stage", snapshot["accounts_by_stage"], "stage"))

    contacts = Table(title="Contact points by state")
    contacts.add_column("channel")
    for state in CONTACT_STATES:
        contacts.add_column(state, justify="right")
    for channel, states in snapshot["contact_points"].items():
        contacts.add_row(channel, *(str(states.get(state, 0)) for state in CONTACT_STATES))
    console.print(contacts)

    console.print(_pairs("Outbox by status", snapshot["outbox_by_status"], "status"))
    escalations = snapshot["open_escalations"]
    console.print(_pairs(f"Open escalations ({escalations['total']})", escalations["by_reason"], "reason"))
    console.print(_pairs("Policy versions in force", snapshot["policy_versions"], "policy", "version"))


def _pairs(title: str, values: dict[str, Any], key: str = "", value: str = "count") -> Table:
    table = Table(title=title, min_width=36)
    table.add_column(key)
    table.add_column(value, justify="right")
    for name, count in values.items():
        table.add_row(name, str(count))
    return table
