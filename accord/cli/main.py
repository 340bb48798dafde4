"""`accord`: the command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from accord.cli import (
    channels,
    compliance,
    db,
    health,
    nlu,
    portfolio,
    run,
    scheduler,
    serve,
    simulate,
    status,
    users,
)

app = typer.Typer(help="Accord: compliant collections conversations.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(nlu.app, name="nlu")
app.add_typer(portfolio.import_app, name="import")
app.add_typer(portfolio.demo_app, name="demo")
app.command("status")(status.status)
app.command("serve")(serve.serve)
app.command("run")(run.run)
app.command("health")(health.health)
scheduler.register(app)  # scheduler, dispatch, stage, sweep, followups, reconcile
app.command("simulate")(simulate.simulate)
app.add_typer(compliance.app, name="compliance")
app.add_typer(compliance.audit_app, name="audit")
app.add_typer(compliance.messages_app, name="messages")
channels.register(app)  # channels urls / register-telegram-webhook, telegram invite / poll


if __name__ == "__main__":  # pragma: no cover
    app()
