"""One bootstrap wires Accord's adapters: `make run`, the CLI and the tests all build the app through here.

Tests pass fakes (a fixed clock, loopback provider URLs) through the same function instead of patching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from accord.settings import Settings, load_settings
from accord.stage_config import StagesFile, load_stages
from core.clock import Clock, SystemClock
from storage.db import make_engine, make_session_factory, migrate


@dataclass
class Container:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    stages: StagesFile
    # Filled by the wiring functions below; typed loosely here so the shell does not import every adapter.
    extras: dict[str, Any] = field(default_factory=dict)

    def close(self) -> None:
        for item in self.extras.values():
            # A dict of adapters (e.g. channels) closes each one: provider clients hold threads and sockets.
            for part in item.values() if isinstance(item, dict) else (item,):
                closer = getattr(part, "close", None)
                if callable(closer):
                    closer()
        self.engine.dispose()


def bootstrap(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    run_migrations: bool = False,
    engine: Engine | None = None,
    **adapters: Any,
) -> Container:
    """Build the container. Keyword `adapters` override wired pieces by name (e.g. channels=..., dialogue=...)."""
    settings = settings or load_settings()
    if run_migrations:
        migrate(settings.database_url)
    engine = engine or make_engine(settings.database_url)
    container = Container(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=clock or SystemClock(),
        stages=load_stages(settings.accord_config_dir),
    )
    container.extras.update(adapters)
    _wire_shell(container)
    return container


def _wire_shell(container: Container) -> None:
    """Logging, metrics and channels: each only when the caller did not pass its own."""
    from accord.logging_setup import configure_logging
    from accord.metrics import Metrics
    from bot.channels.registry import build_channels

    configure_logging(container.settings)
    container.extras.setdefault("metrics", Metrics(container.session_factory))
    if "channels" not in container.extras:
        container.extras["channels"] = build_channels(container.settings)
    _wire_gate(container)
    _wire_dialogue(container)


def _wire_gate(container: Container) -> None:
    """The compliance gate, the one door out: it alone holds the channel adapters' `send`."""
    from compliance.wiring import build_gate

    if "gate" not in container.extras:
        container.extras["gate"] = build_gate(
            container.session_factory, container.clock, container.settings.accord_config_dir,
            container.extras["channels"], metrics=container.extras.get("metrics"),
        )


def _wire_dialogue(container: Container) -> None:
    """The Rasa dialogue engine when RASA_URL is set; otherwise the inbound pipeline's default (officers answer)."""
    from bot.rasa_engine import engine_from_settings

    if "dialogue" not in container.extras:
        engine = engine_from_settings(container.settings)
        if engine is not None:
            container.extras["dialogue"] = engine
