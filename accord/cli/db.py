from __future__ import annotations

import typer

from accord.settings import load_settings
from storage.db import alembic_config, migrate

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply every pending migration (safe to repeat)."""
    settings = load_settings()
    migrate(settings.database_url)
    typer.echo(f"database at {settings.describe()['database']} is up to date")


@app.command("revision")
def revision(message: str = typer.Option(..., "-m", help="what the migration does")) -> None:
    """Autogenerate a new migration from the table definitions (developers)."""
    from alembic import command

    command.revision(alembic_config(load_settings().database_url), message=message, autogenerate=True)
