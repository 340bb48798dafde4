"""The web app factory. `create_app(container)` serves `accord serve` and the tests alike.

Routers live in their own modules, listed in ROUTER_MODULES. A module exposes either `router` (an APIRouter,
included as is) or `mount(app, container)` (for routers that need set-up or are conditional). A listed module that
does not exist yet is skipped, so each feature adds one line here when it lands.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

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
    app.middleware("http")(_log_requests)
    return app


def _optional_module(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only a missing feature module is skipped; a broken import inside an existing one must fail loudly.
        if exc.name == name:
            return None
        raise


async def _log_requests(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """One line per request: method, path (never the query string, which can carry names), status, time.
    Every provider webhook's latency is recorded here, so a new webhook route is measured without extra code."""
    started = time.perf_counter()
    response = await call_next(request)
    if request.url.path.startswith("/webhooks/"):
        route = request.scope.get("route")
        # The route's template, not the raw path: a scanner's random URLs must not create new label values.
        endpoint = getattr(route, "path", None) or "unmatched"
        metrics_for(request.app.state.container).webhook_latency.labels(endpoint=endpoint).observe(
            time.perf_counter() - started
        )
    if request.url.path not in ("/healthz", "/metrics") and not request.url.path.startswith("/static/"):
        log.info(
            "http.request",
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
    return response
