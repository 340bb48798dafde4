"""`accord channels ...` (webhook URLs, Telegram webhook registration) and `accord telegram ...` (binding
invitations, polling for local development)."""

from __future__ import annotations

import re
import signal
import threading
from datetime import timedelta
from typing import Any

import typer

from accord.cli.common import NOW_HELP, app_container, fail

channels_app = typer.Typer(help="Provider channels: webhook URLs and their registration.", no_args_is_help=True)
telegram_app = typer.Typer(help="Telegram: binding invitations and polling.", no_args_is_help=True)

SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as a webhook secret_token


def webhook_urls(public_url: str) -> dict[str, str]:
    base = public_url.rstrip("/")
    return {
        "twilio_sms": f"{base}/webhooks/twilio/sms",
        "twilio_status": f"{base}/webhooks/twilio/status",
        "telegram": f"{base}/webhooks/telegram",
    }


@channels_app.command("urls")
def urls() -> None:
    """Print the webhook URLs to register with each provider, and which channels are live."""
    from bot.channels.registry import describe_channels

    with app_container(run_migrations=False) as container:
        settings = container.settings
        live = describe_channels(container.extras.get("channels", {}))
    found = webhook_urls(settings.accord_public_url)
    typer.echo(f"Public base URL (ACCORD_PUBLIC_URL): {settings.accord_public_url}")
    typer.echo(f"\nSMS via {live.get('sms', 'sandbox')}")
    typer.echo(f"  inbound messages  POST {found['twilio_sms']}")
    typer.echo("                    set it as \"A message comes in\" on the Messaging Service (or the phone number)")
    typer.echo(f"  delivery status   POST {found['twilio_status']}")
    typer.echo("                    sent with every message as its StatusCallback; nothing to register")
    typer.echo(f"\nTelegram via {live.get('telegram', 'sandbox')}")
    typer.echo(f"  updates           POST {found['telegram']}")
    typer.echo("                    register with: accord channels register-telegram-webhook")
    if not settings.accord_public_url.startswith("https://"):
        typer.secho("\nwarning: ACCORD_PUBLIC_URL is not https://; providers cannot deliver webhooks to it "
                    "(Telegram requires HTTPS), and Twilio signatures are checked against this exact address.",
                    fg=typer.colors.YELLOW)


@channels_app.command("register-telegram-webhook")
def register_telegram_webhook(
    drop_pending: bool = typer.Option(False, "--drop-pending", help="discard updates Telegram is still holding"),
) -> None:
    """Tell Telegram to post updates to Accord (setWebhook with the secret token)."""
    from bot.channels.telegram import telegram_channel

    with app_container(run_migrations=False) as container:
        settings = container.settings
        channel = telegram_channel(container)
        if channel is None:
            raise fail("Telegram is not configured: set TELEGRAM_BOT_TOKEN")
        if settings.telegram_webhook_secret is None:
            raise fail("TELEGRAM_WEBHOOK_SECRET is not set: Accord refuses unauthenticated updates")
        secret = settings.telegram_webhook_secret.get_secret_value()
        if not SECRET_RE.match(secret):
            raise fail("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        url = webhook_urls(settings.accord_public_url)["telegram"]
        if not url.startswith("https://") and not settings.telegram_api_base:
            raise fail(f"Telegram only delivers to HTTPS addresses; ACCORD_PUBLIC_URL gives {url}")
        runtime = channel.runtime
        runtime.run(runtime.bot.set_webhook(url=url, secret_token=secret, allowed_updates=["message"],
                                            drop_pending_updates=drop_pending),
                    timeout=runtime.request_timeout_s * 2)
    typer.echo(f"Telegram will post updates to {url}")


@telegram_app.command("invite")
def invite(
    external_id: str = typer.Argument(..., help="the cardholder's external id"),
    ttl_hours: int = typer.Option(24, "--ttl-hours", min=1, max=24 * 14, help="how long the link works"),
    now: str | None = typer.Option(None, "--now", help=NOW_HELP),
) -> None:
    """Queue an SMS with a one-time Telegram link to the cardholder's registered phone."""
    from bot.binding import BindingError
    from bot.binding_invite import queue_invite

    with app_container(now) as container:
        try:
            queued = queue_invite(container, external_id, ttl=timedelta(hours=ttl_hours))
        except BindingError as exc:
            raise fail(f"accord: {exc}") from exc
    typer.echo(f"Binding link for {external_id} queued for SMS; it works once, until {queued.expires_at.isoformat()}")


@telegram_app.command("poll")
def poll() -> None:
    """Receive Telegram updates by polling (local development; production uses the webhook)."""
    from bot.channels.telegram import telegram_channel
    from bot.channels.telegram_handlers import install_handlers

    stop = threading.Event()
    with app_container() as container:
        channel = telegram_channel(container)
        if channel is None:
            raise fail("Telegram is not configured: set TELEGRAM_BOT_TOKEN")
        install_handlers(container)
        channel.runtime.start_polling()
        typer.echo(f"Polling Telegram as @{channel.runtime.bot.username} (this removes any webhook). Ctrl-C stops.")
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            stop.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            channel.runtime.stop_polling()
    typer.echo("Stopped polling.")


def register(app: Any) -> None:
    app.add_typer(channels_app, name="channels")
    app.add_typer(telegram_app, name="telegram")
