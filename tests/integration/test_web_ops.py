"""/healthz and /metrics on real databases, through FastAPI's TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from accord.bootstrap import Container, bootstrap
from accord.metrics import metrics_for
from accord.settings import Settings
from core.clock import FixedClock
from storage.db import transaction
from storage.tables import OutboxItem
from tests import builders
from tests.fakes.dialogue import ScriptedDialogue
from web.app import ROUTER_MODULES, create_app

OPS = ("web.health", "web.metrics")


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container, modules=OPS)) as test_client:
        yield test_client


def test_healthz_reports_database_and_channels(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["dialogue"] == {"ok": True, "status": "not_configured"}
    assert body["channels"] == {"sms": "sandbox", "telegram": "sandbox"}


@pytest.mark.parametrize("up", [True, False])
def test_healthz_follows_a_wired_dialogue_engine(settings: Settings, clock: FixedClock, up: bool) -> None:
    container = bootstrap(settings, clock=clock, dialogue=ScriptedDialogue(up=up))
    try:
        with TestClient(create_app(container, modules=OPS)) as client:
            response = client.get("/healthz")
        assert response.status_code == (200 if up else 503)
        assert response.json()["checks"]["dialogue"] == {
            "ok": up, "status": "reachable" if up else "unreachable"
        }
    finally:
        container.close()


def test_healthz_is_503_when_the_database_is_unreachable(clock: FixedClock, config_dir: object) -> None:
    settings = Settings(accord_env="test", database_url="postgresql+psycopg://accord@127.0.0.1:1/none",
                        accord_config_dir=config_dir, _env_file=None)  # type: ignore[call-arg]
    container = bootstrap(settings, clock=clock)
    try:
        with TestClient(create_app(container, modules=OPS)) as client:
            response = client.get("/healthz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert body["checks"]["database"]["ok"] is False
        assert "127.0.0.1:1" not in response.text  # the body names the failure, not the connection details
        # A scrape still answers while the database is down; only the outbox gauge says it could not count.
        with TestClient(create_app(container, modules=OPS)) as client:
            metrics = client.get("/metrics")
        assert metrics.status_code == 200 and "accord_outbox_depth_scrape_ok 0.0" in metrics.text
    finally:
        container.close()


def _outbox(session: object, holder_id: int, key: str, status: str, at: object) -> OutboxItem:
    return OutboxItem(idempotency_key=key, cardholder_id=holder_id, channel="sms", purpose="reminder",
                      template_id="reminder.gentle", language="en", params={}, not_before=at, status=status,
                      created_at=at, updated_at=at)


def test_metrics_expose_outbox_depth_counted_at_scrape(container: Container, client: TestClient,
                                                       clock: FixedClock) -> None:
    at = clock.now()
    with transaction(container.session_factory) as session:
        holder = builders.cardholder(session, at)
        for i, status in enumerate(["queued", "queued", "deferred", "sent"]):
            session.add(_outbox(session, holder.id, f"k{i}", status, at))

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    depth = _samples(response.text, "accord_outbox_depth")
    assert depth[("queued",)] == 2 and depth[("deferred",)] == 1 and depth[("sent",)] == 1
    assert depth[("failed",)] == 0  # every status is present, so a dashboard never sees a gap

    with transaction(container.session_factory) as session:
        session.add(_outbox(session, holder.id, "k9", "queued", at + timedelta(minutes=1)))
    assert _samples(client.get("/metrics").text, "accord_outbox_depth")[("queued",)] == 3


def test_recorded_sends_blocks_and_latencies_appear(container: Container, client: TestClient) -> None:
    metrics = metrics_for(container)
    metrics.record_delivery("sms", "reminder", "sent")
    metrics.record_delivery("sms", "reminder", "blocked", ("quiet_hours", "cap_daily"))
    metrics.record_delivery("telegram", "bot_reply", "blocked", ("quiet_hours",))
    metrics.record_delivery("sms", "reminder", "deferred", ("quiet_hours",))
    with metrics.time_webhook("twilio_sms"):
        pass
    text = client.get("/metrics").text
    assert _samples(text, "accord_messages_sent")[("sms", "reminder")] == 1
    blocks = _samples(text, "accord_messages_blocked")
    assert blocks[("sms", "quiet_hours")] == 1 and blocks[("sms", "cap_daily")] == 1
    assert blocks[("telegram", "quiet_hours")] == 1
    assert _samples(text, "accord_messages_deferred")[("sms", "quiet_hours")] == 1
    assert 'accord_webhook_latency_seconds_count{endpoint="twilio_sms"} 1.0' in text
    assert "accord_dialogue_latency_seconds" in text


def test_two_apps_in_one_process_keep_separate_registries(settings: Settings, clock: FixedClock) -> None:
    first, second = bootstrap(settings, clock=clock), bootstrap(settings, clock=clock)
    try:
        metrics_for(first).record_delivery("sms", "reminder", "sent")
        assert metrics_for(first) is not metrics_for(second)
        with TestClient(create_app(second, modules=OPS)) as client:
            assert "accord_messages_sent_total{" not in client.get("/metrics").text
    finally:
        first.close()
        second.close()


def test_the_full_app_builds_with_every_router_that_exists(container: Container) -> None:
    assert "web.health" in ROUTER_MODULES
    with TestClient(create_app(container)) as client:
        for path in ("/healthz", "/metrics", "/simulator"):
            assert client.get(path).status_code == 200, path


def _samples(text: str, family_name: str) -> dict[tuple[str, ...], float]:
    for family in text_string_to_metric_families(text):
        if family.name == family_name:
            return {
                tuple(v for k, v in sorted(s.labels.items(), key=lambda kv: _label_order(kv[0]))): s.value
                for s in family.samples
                if not s.name.endswith("_created")
            }
    raise AssertionError(f"{family_name} not in the scrape")


def _label_order(name: str) -> int:
    return {"status": 0, "channel": 0, "purpose": 1, "reason": 1}.get(name, 2)


def test_webhook_latency_is_recorded_per_route_template(container: Container) -> None:
    from fastapi import APIRouter

    router = APIRouter()

    @router.post("/webhooks/test/{kind}")
    def hook(kind: str) -> dict[str, str]:
        return {"kind": kind}

    app = create_app(container, modules=OPS)
    app.include_router(router)
    with TestClient(app) as client:
        client.post("/webhooks/test/a")
        client.post("/webhooks/test/b")
        client.post("/webhooks/nonsense/123")
        text = client.get("/metrics").text
    assert 'accord_webhook_latency_seconds_count{endpoint="/webhooks/test/{kind}"} 2.0' in text
    assert 'accord_webhook_latency_seconds_count{endpoint="unmatched"} 1.0' in text
    assert "nonsense" not in text
