"""`accord serve [--host --port]`: the web app alone (webhooks, health, metrics, simulator, console)."""

from __future__ import annotations

import typer

from accord.cli.common import app_container


def serve(
    host: str | None = typer.Option(None, "--host", help="interface to listen on (default ACCORD_HOST, 127.0.0.1)"),
    port: int | None = typer.Option(None, "--port", min=1, max=65535, help="port (default ACCORD_PORT, 8000)"),
    migrate: bool = typer.Option(False, "--migrate/--no-migrate", help="apply pending migrations first"),
) -> None:
    """Run the web app with uvicorn until SIGINT or SIGTERM."""
    import uvicorn

    from web.app import create_app

    with app_container(run_migrations=migrate) as container:
        settings = container.settings
        uvicorn.run(
            create_app(container),
            host=host or settings.accord_host,
            port=port or settings.accord_port,
            log_config=None,  # keep Accord's structured, masked logging
            access_log=False,  # the app logs each request itself, without query strings
            proxy_headers=True,
            server_header=False,
        )
