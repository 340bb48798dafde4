"""Prometheus metrics, one registry per container so two apps in one test process never collide.

Record into these from anywhere that holds the container:

    metrics = metrics_for(container)
    metrics.sends.labels(channel="sms", purpose="reminder").inc()
    metrics.blocks.labels(channel="sms", reason="quiet_hours").inc()
    with metrics.time_webhook("twilio_sms"): ...
    with metrics.time_dialogue(): ...

Counters live in the process that sends. In a deployment where the scheduler runs as its own process it exposes
its own registry (`serve_metrics`); outbox depth is read from the database at scrape time, so every process
reports the same figure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.enums import OutboxStatus
from storage.tables import OutboxItem

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class OutboxDepthCollector(Collector):
    """Outbox rows by status, counted when Prometheus scrapes (never a stale in-process copy)."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("accord_outbox_depth", "Outbox items by status", labels=["status"])
        up = GaugeMetricFamily("accord_outbox_depth_scrape_ok", "1 when the outbox count query succeeded")
        try:
            with self._session_factory() as session:
                rows = session.execute(
                    select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
                ).all()
        except Exception:  # a down database must not break the whole scrape; /healthz reports it
            up.add_metric([], 0)
            yield up
            return
        counts = {status.value: 0 for status in OutboxStatus}
        counts.update({str(status): int(n) for status, n in rows})
        for status, n in sorted(counts.items()):
            gauge.add_metric([status], n)
        up.add_metric([], 1)
        yield gauge
        yield up


class Metrics:
    def __init__(self, session_factory: sessionmaker[Session] | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.sends = Counter(
            "accord_messages_sent", "Messages a channel accepted", ["channel", "purpose"], registry=self.registry
        )
        self.blocks = Counter(
            "accord_messages_blocked",
            "Messages the compliance gate blocked, by reason code",
            ["channel", "reason"],
            registry=self.registry,
        )
        self.deferrals = Counter(
            "accord_messages_deferred", "Messages the gate deferred", ["channel", "reason"], registry=self.registry
        )
        self.inbound = Counter(
            "accord_inbound_messages", "Inbound messages by outcome", ["channel", "outcome"], registry=self.registry
        )
        self.webhook_latency = Histogram(
            "accord_webhook_latency_seconds",
            "Time to handle an inbound webhook (or simulator post)",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.dialogue_latency = Histogram(
            "accord_dialogue_latency_seconds",
            "Time the dialogue engine took to answer one turn",
            ["outcome"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        if session_factory is not None:
            self.registry.register(OutboxDepthCollector(session_factory))

    def record_delivery(self, channel: str, purpose: str, status: str, reasons: tuple[str, ...] = ()) -> None:
        """One call per gate outcome: sent -> sends, blocked/deferred -> one count per reason code."""
        if status == "sent":
            self.sends.labels(channel=channel, purpose=purpose).inc()
        elif status == "blocked":
            for reason in reasons or ("unspecified",):
                self.blocks.labels(channel=channel, reason=reason).inc()
        elif status == "deferred":
            for reason in reasons or ("unspecified",):
                self.deferrals.labels(channel=channel, reason=reason).inc()

    @contextmanager
    def time_webhook(self, endpoint: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.webhook_latency.labels(endpoint=endpoint).observe(time.perf_counter() - started)

    @contextmanager
    def time_dialogue(self) -> Iterator[None]:
        started = time.perf_counter()
        outcome = "error"
        try:
            yield
            outcome = "ok"
        finally:
            self.dialogue_latency.labels(outcome=outcome).observe(time.perf_counter() - started)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def metrics_for(container: Any) -> Metrics:
    """The container's metrics, created on first use (the bootstrap normally creates them)."""
    metrics = container.extras.get("metrics")
    if metrics is None:
        metrics = Metrics(container.session_factory)
        container.extras["metrics"] = metrics
    return metrics


def serve_metrics(metrics: Metrics, port: int, host: str = "0.0.0.0") -> Any:
    """Expose a registry on its own port, for processes without a web app (the scheduler)."""
    return start_http_server(port, addr=host, registry=metrics.registry)
