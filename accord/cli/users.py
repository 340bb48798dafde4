"""`accord users`: console accounts. Passwords are read from standard input, never from the command line."""

from __future__ import annotations

import sys

import typer
from sqlalchemy import select

from accord.cli.common import app_container, fail
from storage.db import transaction
from storage.tables import ConsoleUser

app = typer.Typer(help="Console users (officers, supervisors, compliance reviewers, admins).", no_args_is_help=True)


@app.command("add")
def add(
    username: str = typer.Argument(..., help="lower-case login name"),
    role: str = typer.Option(..., "--role", help="officer | supervisor | compliance | admin"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from standard input"),
    language: str = typer.Option("en", "--language", help="console language: en or zh"),
) -> None:
    """Create a console user. The password (12+ characters) comes from stdin: `... --password-stdin < file`."""
    from web.console.accounts import AccountError, add_user

    if not password_stdin:
        raise fail("accord users add: pass --password-stdin and give the password on standard input", 2)
    password = sys.stdin.readline().rstrip("\r\n")
    with app_container() as container:
        try:
            with transaction(container.session_factory) as s:
                user = add_user(s, username, role, password, container.clock.now(), language=language)
                from compliance import audit

                audit.append(s, actor="cli", kind="console.user_added", subject_type="console_user",
                             subject_id=str(user.id), payload={"username": username, "role": role},
                             at=container.clock.now())
        except AccountError as exc:
            raise fail(f"accord users add: {exc}", 2) from exc
    typer.echo(f"user {username} added with role {role}")


@app.command("list")
def list_users() -> None:
    """Show console users and their roles (never password hashes)."""
    with app_container() as container, transaction(container.session_factory) as s:
        for user in s.scalars(select(ConsoleUser).order_by(ConsoleUser.username)):
            state = "active" if user.active else "disabled"
            typer.echo(f"{user.username:<24} {user.role:<11} {user.language}  {state}")
