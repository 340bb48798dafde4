"""What every console request needs, built once when the console is mounted on the app."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi.templating import Jinja2Templates

from accord.bootstrap import Container
from accord.dialogue.config import NegotiationFile, load_negotiation
from core.negotiation import NegotiationPolicy
from web.console import i18n
from web.console.config import ConsoleConfig, load_console_config
from web.console.sessions import SessionCodec

WEB_DIR = Path(__file__).resolve().parent.parent


@dataclass
class ConsoleContext:
    container: Container
    config: ConsoleConfig
    codec: SessionCodec
    templates: Jinja2Templates
    negotiation: NegotiationPolicy
    negotiation_file: NegotiationFile


def build_context(container: Container) -> ConsoleContext:
    settings = container.settings
    config = load_console_config(settings.accord_config_dir)
    codec = SessionCodec(
        settings.accord_secret_key.get_secret_value(),
        max_age_seconds=config.session_hours * 3600,
        secure=settings.accord_public_url.startswith("https://"),
    )
    templates = Jinja2Templates(directory=str(WEB_DIR / "templates"))
    templates.env.globals["catalog"] = i18n.CATALOG
    templates.env.filters["duration"] = i18n.format_duration
    negotiation = load_negotiation(settings.accord_config_dir)
    return ConsoleContext(container=container, config=config, codec=codec, templates=templates,
                          negotiation=negotiation.policy(), negotiation_file=negotiation)
