"""`accord`: the command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from accord.cli import db

app = typer.Typer(help="Accord: compliant collections conversations.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
app.add_typer(db.app, name="db")


if __name__ == "__main__":  # pragma: no cover
    app()
