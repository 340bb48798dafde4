"""Review services on both backends: keyset search with every filter, and the dashboard figures."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from accord.bootstrap import Container
from storage.db import transaction
from storage.tables import Message
from tests.console.seed import seed
from web.console.review import dashboard
from web.console.review.search import Filters, SearchError, decode_cursor, search


def _log(container: Container, n: int) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        s.add_all(Message(channel="sms", direction="outbound", status="sent", author="officer:olivia" if i % 10 == 0
                          else "scheduler", text=f"m{i}", created_at=now - timedelta(minutes=i % 40))
                  for i in range(n))


def test_keyset_pages_cover_the_log_once_newest_first(container: Container) -> None:
    _log(container, 130)
    seen: list[int] = []
    cursor = None
    with transaction(container.session_factory) as s:
        while True:
            rows, cursor = search(s, Filters(), 50, cursor)
            seen += [r.id for r in rows]
            stamps = [(r.created_at, r.id) for r in rows]
            assert stamps == sorted(stamps, reverse=True)
            if cursor is None:
                break
    assert len(seen) == 130 and len(set(seen)) == 130


def test_every_filter_narrows_the_search(container: Container) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        world = seed(s, now)
    _log(container, 20)
    with transaction(container.session_factory) as s:
        def ids(**kw: object) -> set[int]:
            return {r.id for r in search(s, Filters(**kw), 500)[0]}  # type: ignore[arg-type]

        blocked = {world.messages[f"{k}.blocked"] for k in ("zh", "us", "uk", "att")}
        assert ids(status="blocked") == blocked
        assert ids(reason="forbidden_wording") == blocked
        assert ids(reason="no_such_reason") == set()
        assert ids(account="A-us") == {world.messages[f"us.{k}"] for k in ("reminder", "inbound", "blocked")}
        assert ids(channel="telegram", direction="inbound") == {world.messages["zh.inbound"]}
        assert ids(template="reminder.gentle") == {world.messages[f"{k}.reminder"] for k in ("zh", "us", "uk", "att")}
        assert len(ids(officer="olivia")) == 2
        assert ids(date_from=date(2026, 11, 24)) == set()
        assert len(ids(date_from=now.date() - timedelta(days=1), date_to=now.date())) == 32  # 12 seeded + 20
        assert len(ids(date_to=now.date() - timedelta(days=2))) == 0


def test_bad_cursor_and_dates_are_named_errors() -> None:
    with pytest.raises(SearchError, match="cursor"):
        decode_cursor("not-a-cursor")
    with pytest.raises(SearchError, match="from: '2026-13-01' is not a date"):
        Filters.parse({"from": "2026-13-01"})


def test_dashboard_figures(container: Container) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        seed(s, now)
    with transaction(container.session_factory) as s:
        d = dashboard.build(s, now - timedelta(days=7), now + timedelta(hours=1))
    # Reminders at 00:00Z (the Chicago one at 01:00Z): 08:00 Shanghai, 00:00 London, 19:00 New York and Chicago.
    assert d.hours == {"CN": [0] * 8 + [1] + [0] * 15, "UK": [1] + [0] * 23, "US": [0] * 19 + [2] + [0] * 4}
    assert d.blocks == [("forbidden_wording", 4)]
    assert sorted(d.escalations) == [("ask_human", 1), ("attorney", 1), ("dispute", 1), ("distress", 1)]
    rolls = {r["stage"]: r for r in d.cure_roll}
    assert rolls["dpd_1_29"]["base"] == 4 and rolls["dpd_1_29"]["rolled"] == 3
