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
            closer = getattr(item, "close", None)
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
    return container
