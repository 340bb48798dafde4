"""Console pages with a million messages in the log (PostgreSQL): the message-log search and the dashboard.

console_search_ms: median render time of the search page through the ASGI app (login, session, CSRF, query,
template, audit event for the compliance reviewer's unmasked view), over a mix of filters and a keyset page 2.
Baseline: the bare SELECT of one newest-first page of 50 messages on the same database.
console_dashboard_ms: median render time of the 7-day dashboard. Baseline: one count of the window's decisions.
Target for both pages: under 500 ms.
"""

from __future__ import annotations

import os
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from accord.bootstrap import bootstrap
from accord.settings import Settings
from bench.common import BenchContext, Result, timer
from bench.console_seed import NOW, seed
from core.clock import FixedClock
from storage.db import migrate, transaction
from web.console.accounts import add_user

MESSAGES = int(os.environ.get("ACCORD_BENCH_CONSOLE_MESSAGES", "1000000"))
HOLDERS = 20000
REPEAT = 7
PASSWORD = "bench password 123"


def _median_ms(fn: Callable[[], Any], repeat: int = REPEAT) -> float:
    fn()  # warm caches and the connection pool once
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run(ctx: BenchContext) -> list[Result]:
    from web.app import create_app

    with ctx.postgres_database("accord_bench_console") as url:
        migrate(url)
        with timer() as seeding:
            facts = seed(url.replace("postgresql+psycopg://", "postgresql://"), MESSAGES, HOLDERS)
        settings = Settings(accord_env="test", database_url=url, _env_file=None)  # type: ignore[call-arg]
        container = bootstrap(settings, clock=FixedClock(NOW))
        try:
            with transaction(container.session_factory) as s:
                add_user(s, "cora", "compliance", PASSWORD, NOW)
            client = TestClient(create_app(container))
            page = client.get("/console/login").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            client.post("/console/login", data={"username": "cora", "password": PASSWORD, "csrf_token": token})
            first = client.get("/console/review/messages")
            assert first.status_code == 200, first.status_code
            cursor = re.search(r"cursor=([A-Za-z0-9_-]+)", first.text).group(1)  # type: ignore[union-attr]
            queries = ["", f"?account={facts['account']}", "?status=blocked", "?reason=frequency_cap",
                       "?channel=sms&direction=inbound", "?officer=olivia", f"?cursor={cursor}",
                       "?from=2026-10-01&to=2026-10-07&status=deferred"]
            per_query = {q: _median_ms(lambda q=q: _ok(client.get("/console/review/messages" + q)), 3)
                         for q in queries}
            search_ms = statistics.median(per_query.values())
            dashboard_ms = _median_ms(lambda: _ok(client.get("/console/review/dashboard")), 5)
            with container.engine.connect() as conn:
                bare_page = _median_ms(lambda: conn.execute(text(
                    "SELECT id, created_at, channel, direction, status, text FROM messages "
                    "ORDER BY created_at DESC, id DESC LIMIT 50")).all())
                bare_count = _median_ms(lambda: conn.execute(text(
                    "SELECT count(*) FROM compliance_decisions WHERE decided_at >= :start"),
                    {"start": NOW.replace(day=16)}).scalar())
        finally:
            container.close()
    slowest = max(per_query, key=per_query.__getitem__)
    ctx.notes.append(f"console: {MESSAGES} messages seeded by COPY in {seeding.seconds:.0f}s; search per query (ms): "
                     + ", ".join(f"{q or '(none)'}={v:.0f}" for q, v in per_query.items())
                     + f"; slowest {slowest or '(none)'}; target < 500 ms")
    return [
        Result("console_search_ms", search_ms, "ms", bare_page),
        Result("console_search_slowest_ms", per_query[slowest], "ms", bare_page),
        Result("console_dashboard_ms", dashboard_ms, "ms", bare_count),
    ]


def _ok(response: Any) -> None:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url}: HTTP {response.status_code}")
