"""Support for the tests that run `accord dispatch` as real processes against PostgreSQL and a fake Twilio."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from core.clock import FixedClock
from storage.db import migrate
from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.loopback import Recorded, Reply
from tests.fakes.twilio_api import FakeTwilioApi

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "f" * 32
SERVICE_SID = "MG" + "6" * 32


class SlowTwilioApi(FakeTwilioApi):
    """The Twilio fake, answering every create after `latency_s` (a provider on a slow day)."""

    def __init__(self, latency_s: float) -> None:
        super().__init__(ACCOUNT_SID, AUTH_TOKEN)
        self.latency_s = latency_s

    def handle(self, request: Recorded) -> Reply:
        reply = super().handle(request)
        if request.method == "POST" and self.latency_s:
            reply.delay_s = max(reply.delay_s, self.latency_s)
        return reply

    def creates_per_number(self) -> Counter[str]:
        return Counter(form["To"] for form in self.created())


@contextmanager
def pg_database(*, lazy_commits: bool = False) -> Iterator[str]:
    """A fresh migrated PostgreSQL database. `lazy_commits` turns off waiting for the disk at commit: this
    machine's fsync dominates otherwise, and what these tests check (row ownership, caps under concurrency)
    is about locking, which lazy commits do not change. Process kills lose nothing either way."""
    url = create_pg_database("accord_dispatch")
    try:
        if lazy_commits:
            name = url.rsplit("/", 1)[1]
            engine = create_engine(url, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
            engine.dispose()
        migrate(url)
        yield url
    finally:
        drop_pg_database(url)


def config_dir(tmp: Path, **dispatch: Any) -> Path:
    """A copy of config/ whose scheduler.yaml lets Twilio go fast (the fake has no real carrier limit)."""
    target = tmp / "config"
    shutil.copytree(ROOT / "config", target)
    path = target / "scheduler.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["rate_limits"]["twilio"] = {"per_sender_per_s": dispatch.pop("sender_per_s", 5000),
                                     "sender_burst": dispatch.pop("sender_burst", 500), "per_recipient_per_s": None}
    data["dispatch"].update(dispatch)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


def provider_settings(url: str, config: Path, fake: FakeTwilioApi) -> Settings:
    return Settings(accord_env="test", database_url=url, accord_config_dir=config,  # type: ignore[call-arg]
                    twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                    twilio_messaging_service_sid=SERVICE_SID, twilio_api_base=fake.base_url, _env_file=None)


def container_for(settings: Settings, clock: FixedClock) -> Container:
    return bootstrap(settings, clock=clock)


def dispatch_process(settings: Settings, *args: str) -> subprocess.Popen[str]:
    """`accord dispatch ...` in its own process, configured only through its environment."""
    env = {**os.environ, "ACCORD_ENV": "test", "DATABASE_URL": settings.database_url,
           "ACCORD_CONFIG_DIR": str(settings.accord_config_dir), "ACCORD_LOG_LEVEL": "WARNING",
           "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
           "TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID, "TWILIO_API_BASE": settings.twilio_api_base or ""}
    return subprocess.Popen([sys.executable, "-m", "accord.cli.main", "dispatch", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
