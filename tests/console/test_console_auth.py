"""Accounts, sessions, CSRF, throttling and the language preference, over HTTP against both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from accord.bootstrap import Container
from accord.cli.main import app as cli
from core.clock import FixedClock
from storage.db import transaction
from storage.tables import AuditEvent, ConsoleUser
from web.console.accounts import AccountError, add_user

PASSWORD = "a long enough password"


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    from web.app import create_app

    with transaction(container.session_factory) as s:
        add_user(s, "olivia", "officer", PASSWORD, container.clock.now())
    with TestClient(create_app(container), base_url="http://testserver") as c:
        yield c


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "page has no CSRF field"
    return found.group(1)


def log_in(client: TestClient, username: str = "olivia", password: str = PASSWORD) -> int:
    token = csrf(client.get("/console/login").text)
    return client.post("/console/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=False).status_code


def test_login_sets_a_signed_http_only_cookie_and_logout_kills_it(client: TestClient, container: Container) -> None:
    assert log_in(client) == 303
    cookie = client.cookies.get("accord_console")
    assert cookie
    jar = client.get("/console/login", follow_redirects=False)
    assert jar.status_code == 303  # already logged in
    page = client.get("/console/queue")
    assert page.status_code == 200
    assert client.post("/console/logout", data={"csrf_token": csrf(page.text)}, follow_redirects=False).status_code == 303
    client.cookies.set("accord_console", cookie, path="/console")  # a copied cookie...
    assert client.get("/console/queue", follow_redirects=False).status_code == 303  # ...no longer works
    with transaction(container.session_factory) as s:
        kinds = [(e.actor, e.kind) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert ("user:olivia", "console.login") in kinds and ("user:olivia", "console.logout") in kinds


def test_console_root_leads_to_login_then_home(client: TestClient) -> None:
    assert client.get("/console").url.path == "/console/login"
    log_in(client)
    assert client.get("/console/").url.path == "/console/queue"


def test_cookie_flags(client: TestClient) -> None:
    response = client.get("/console/login")
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=lax" in header and "path=/console" in header
    assert "secure" not in header  # plain-http public URL in tests
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_forged_cookie_is_ignored(client: TestClient) -> None:
    client.cookies.set("accord_console", "eyJ1IjoxfQ.forged.sig", path="/console")
    assert client.get("/console/queue", follow_redirects=False).status_code == 303


def test_posts_without_csrf_are_refused(client: TestClient) -> None:
    assert client.post("/console/login", data={"username": "olivia", "password": PASSWORD}).status_code == 403
    log_in(client)
    assert client.post("/console/logout", follow_redirects=False).status_code == 403
    assert client.post("/console/logout", headers={"X-CSRF-Token": "nope"}, follow_redirects=False).status_code == 403


def test_five_failures_lock_that_username_and_address(client: TestClient, container: Container) -> None:
    for _ in range(4):
        assert log_in(client, password="wrong password!") == 401
    assert log_in(client, password="wrong password!") == 429
    assert log_in(client) == 429  # even the right password waits out the lockout
    assert isinstance(container.clock, FixedClock)
    container.clock.advance(timedelta(minutes=16))
    assert log_in(client) == 303


def test_language_choice_is_kept_per_user(client: TestClient, container: Container) -> None:
    log_in(client)
    page = client.get("/console/queue")
    assert "Escalation queue" in page.text
    client.post("/console/language", data={"language": "zh", "next": "/console/queue", "csrf_token": csrf(page.text)})
    assert "升级队列" in client.get("/console/queue").text
    with transaction(container.session_factory) as s:
        assert s.scalars(select(ConsoleUser.language).where(ConsoleUser.username == "olivia")).one() == "zh"
    nasty = client.post("/console/language", data={"language": "en", "next": "//evil.example/",
                                                   "csrf_token": csrf(page.text)}, follow_redirects=False)
    assert nasty.headers["location"] == "/console"  # never an open redirect


def test_add_user_rules(container: Container) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        user = add_user(s, "cora", "compliance", PASSWORD, now)
        assert user.password_hash.startswith("$argon2id$")
        for args, message in ((("Bad Name", "officer", PASSWORD), "not valid"),
                              (("x1", "boss", PASSWORD), "not one of"),
                              (("x2", "officer", "short"), "too short"),
                              (("cora", "officer", PASSWORD), "already exists")):
            with pytest.raises(AccountError, match=message):
                add_user(s, *args, now)


def test_users_add_command(settings: object, monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)  # the CLI reads its settings from the environment
    runner = CliRunner()
    ok = runner.invoke(cli, ["users", "add", "sam", "--role", "supervisor", "--password-stdin"],
                       input=PASSWORD + "\n")
    assert ok.exit_code == 0, ok.output
    assert "sam" in runner.invoke(cli, ["users", "list"]).output
    bad = runner.invoke(cli, ["users", "add", "sam2", "--role", "boss", "--password-stdin"], input=PASSWORD + "\n")
    assert bad.exit_code == 2 and "not one of" in bad.output
    no_stdin = runner.invoke(cli, ["users", "add", "sam3", "--role", "officer"])
    assert no_stdin.exit_code == 2


def test_cookies_are_secure_behind_an_https_public_url(container: Container) -> None:
    from dataclasses import replace

    from starlette.responses import Response

    from web.console.context import build_context
    from web.console.sessions import SessionData

    https = replace(container, settings=container.settings.model_copy(
        update={"accord_public_url": "https://accord.example.com"}))
    ctx = build_context(https)
    response = Response()
    ctx.codec.write(response, SessionData(csrf="x", user_id=1))
    header = response.headers["set-cookie"].lower()
    assert "secure" in header and "httponly" in header and "samesite=lax" in header
