"""`accord compliance ...`: lint the wording catalog, explain a decision; `accord audit verify`;
`accord messages export`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import typer

from accord.cli.common import app_container, fail
from accord.config_files import ConfigError
from accord.settings import load_settings
from core.clock import parse_instant

app = typer.Typer(help="Compliance: wording lint and plain-language decisions.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
messages_app = typer.Typer(help="Messages for compliance review.", no_args_is_help=True)


@app.command("lint")
def lint() -> None:
    """Lint every template, pack phrase and rendered sample; exit 1 on any finding."""
    from compliance.catalog_lint import lint_catalog
    from compliance.wiring import load_compliance

    try:
        config = load_compliance(load_settings().accord_config_dir)
    except ConfigError as exc:
        raise fail(f"accord: configuration error\n{exc}", 2) from exc
    findings = lint_catalog(config)
    for finding in findings:
        typer.echo(finding)
    templates = list(config.catalog)
    summary = (f"{len(templates)} template texts in {len(config.catalog.files)} files, "
               f"{len(list(config.packs))} policy packs, lint {config.linter.version}")
    if findings:
        raise fail(f"{len(findings)} finding(s) in {summary}", 1)
    typer.echo(f"no findings: {summary}")


@app.command("matrix")
def matrix(pack: str = typer.Argument(None, help="one pack (CN, US, US-MA, UK); all when left out"),
           as_json: bool = typer.Option(False, "--json", help="print the cells as JSON")) -> None:
    """Print each pack's protective-state matrix: what each state allows, limits or blocks, per purpose."""
    from compliance.matrix_table import matrix_rows, matrix_text
    from compliance.packs import load_packs

    try:
        packs = load_packs(load_settings().accord_config_dir)
    except ConfigError as exc:
        raise fail(f"accord: configuration error\n{exc}", 2) from exc
    chosen = [p for p in packs if pack is None or p.pack.value == pack]
    if not chosen:
        raise fail(f"accord: no policy pack {pack!r}; the packs are {', '.join(p.pack.value for p in packs)}", 2)
    if as_json:
        typer.echo(json.dumps({p.pack.value: matrix_rows(p) for p in chosen}, indent=2))
        return
    typer.echo("\n\n".join(matrix_text(p) for p in chosen))


@app.command("explain")
def explain(message_id: int = typer.Argument(..., help="the message id (from the console or an export)"),
            as_json: bool = typer.Option(False, "--json", help="print the facts as JSON")) -> None:
    """Explain in plain language why the gate allowed, deferred or blocked a message."""
    from compliance.explain import MessageNotFound, explain_text, explanation

    with app_container() as container, container.session_factory() as session:
        try:
            facts = explanation(session, message_id)
        except MessageNotFound as exc:
            raise fail(f"accord: {exc}", 1) from exc
    typer.echo(json.dumps(facts, ensure_ascii=False, indent=2) if as_json else explain_text(facts))


@audit_app.command("verify")
def verify() -> None:
    """Walk the hash chain; exit 1 naming the first edited, deleted or reordered record."""
    from compliance.audit import verify as verify_chain

    with app_container() as container, container.session_factory() as session:
        result = verify_chain(session)
    if not result.ok:
        raise fail(f"audit log TAMPERED: {result.problem} ({result.count} records read)", 1)
    typer.echo(f"audit log intact: {result.count} records, head seq {result.head_seq}, hash {result.head_hash}")


def _bound(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        if len(value) == 10:  # a plain date: that day's start in UTC
            return datetime.combine(date.fromisoformat(value), datetime.min.time(), tzinfo=UTC)
        return parse_instant(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{exc} (use YYYY-MM-DD or an ISO instant with offset)", param_hint=name) from exc


@messages_app.command("export")
def export(
    fmt: str = typer.Option("jsonl", "--format", help="jsonl or csv"),
    start: str | None = typer.Option(None, "--from", help="created at or after (YYYY-MM-DD or ISO instant)"),
    end: str | None = typer.Option(None, "--to", help="created before (YYYY-MM-DD or ISO instant)"),
    account: str | None = typer.Option(None, "--account", help="one account's external id"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write here instead of standard output"),
) -> None:
    """Every message and attempt with its decision, for a compliance reviewer; addresses masked."""
    from compliance.export import message_records, write_csv, write_jsonl

    if fmt not in ("jsonl", "csv"):
        raise typer.BadParameter("use jsonl or csv", param_hint="--format")
    lower, upper = _bound(start, "--from"), _bound(end, "--to")
    writer = write_jsonl if fmt == "jsonl" else write_csv
    with app_container() as container, container.session_factory() as session:
        records = message_records(session, start=lower, end=upper, account=account)
        if output is None:
            count = writer(records, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as handle:
                count = writer(records, handle)
    typer.echo(f"{count} records", err=True)
