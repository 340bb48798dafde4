"""The web app factory. `create_app(container)` serves `accord serve` and the tests alike.

Routers live in their own modules, listed in ROUTER_MODULES. A module exposes either `router` (an APIRouter,
included as is) or `mount(app, container)` (for routers that need set-up or are conditional). A listed module that
does not exist yet is skipped, so each feature adds one line here when it lands.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accord.bootstrap import Container
from accord.metrics import metrics_for

log = structlog.get_logger("accord.web")

WEB_DIR = Path(__file__).resolve().parent

ROUTER_MODULES: tuple[str, ...] = (
    "web.health",
    "web.metrics",
    "web.simulator",
    "web.internal_api",
    "web.webhooks",
    "web.console",
)


def create_app(container: Container, *, modules: Sequence[str] = ROUTER_MODULES) -> FastAPI:
    """Build the app. `modules` narrows the routers (a test of one feature need not import the others)."""
    app = FastAPI(title="Accord", version="0.1.0", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.container = container
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    for name in modules:
        module = _optional_module(name)
        if module is None:
            continue
        if hasattr(module, "mount"):
            module.mount(app, container)
        elif hasattr(module, "router"):
            app.include_router(module.router)
        else:
            raise RuntimeError(f"{name} has neither `router` nor `mount(app, container)`")
    app.add_middleware(RequestLog)
    return app


def _optional_module(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only a missing feature module is skipped; a broken import inside an existing one must fail loudly.
        if exc.name == name:
            return None
        raise


class RequestLog:
    """One line per request: method, path (never the query string, which can carry names), status, time.
    Every provider webhook's latency is recorded here, so a new webhook route is measured without extra code.

    A plain ASGI middleware rather than `@app.middleware("http")`: that one runs every request through an extra
    task and a memory stream, which the internal API pays on each of the action server's calls, in the same
    process as the chat turns it serves."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before it starts a response

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            _record(scope, status, time.perf_counter() - started)


def _record(scope: Scope, status: int, seconds: float) -> None:
    path: str = scope["path"]
    if path.startswith("/webhooks/"):
        # The route's template, not the raw path: a scanner's random URLs must not create new label values.
        endpoint = getattr(scope.get("route"), "path", None) or "unmatched"
        metrics_for(scope["app"].state.container).webhook_latency.labels(endpoint=endpoint).observe(seconds)
    if path not in ("/healthz", "/metrics") and not path.startswith("/static/"):
        log.info("http.request", method=scope["method"], path=path, status=status, ms=round(seconds * 1000, 1))
