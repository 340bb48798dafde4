"""Fixtures for console tests: a seeded world, and for browser tests a live server plus headless chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from core.clock import FixedClock
from storage.db import migrate, transaction
from tests.console.live_server import serve
from tests.console.seed import World, seed

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# 15:00 UTC: 10:00 in New York, 15:00 in London, 23:00 in Shanghai (after CN contact hours).
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@dataclass
class Live:
    url: str
    container: Container
    world: World
    config_dir: Path


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One SQLite database and a private copy of config/ (template approvals write into it)."""
    from web.app import create_app

    base = tmp_path_factory.mktemp("console-live")
    config_dir = base / "config"
    shutil.copytree(ROOT / "config", config_dir)
    url = f"sqlite:///{base / 'console.db'}"
    migrate(url)
    settings = Settings(accord_env="test", database_url=url, accord_config_dir=config_dir,  # type: ignore[call-arg]
                        _env_file=None)
    container = bootstrap(settings, clock=FixedClock(NOW))
    with transaction(container.session_factory) as s:
        world = seed(s, NOW)
    try:
        with serve(create_app(container)) as url_:
            yield Live(url=url_, container=container, world=world, config_dir=config_dir)
    finally:
        container.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        engine = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield engine
        finally:
            engine.close()


@pytest.fixture
def new_page(browser: Any, live: Live) -> Iterator[Any]:
    contexts = []

    def make(lang: str = "en") -> Any:
        context = browser.new_context(base_url=live.url, locale="zh-CN" if lang == "zh" else "en-US",
                                      viewport={"width": 1360, "height": 900}, accept_downloads=True)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.outerHTML)"""


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot, after checking the page's basic accessibility: one <main> landmark, one
    <h1>, a language on <html>, and a label for every form control."""
    assert page.locator("main").count() == 1 and page.locator("h1").count() == 1, name
    assert page.locator("html").get_attribute("lang") in ("en", "zh-CN"), name
    assert page.evaluate(UNLABELLED) == [], name
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
