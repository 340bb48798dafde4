"""Dispatch throughput: outbox rows through the real dispatcher, the real compliance gate and the real Twilio
client to a zero-latency loopback fake of Twilio's API (bench/fast_twilio.py, in its own process), on PostgreSQL.

Baseline: the same number of raw HTTP POSTs to the same fake, measured in the same run, with the same HTTP
stack and the same number in flight as the channel uses (aiohttp, keep-alive, 16 at once): what the wire and the
fake allow with no Accord in the way. `dispatch_gate_share_pct` is the share of dispatch time spent inside the
gate (decisions, records and the provider calls).

CPU per message says what bounds the ratio: `dispatch_cpu_ms_per_msg` is the dispatching process's CPU (all its
threads) per message, against the raw poster's CPU per post; `dispatch_machine_cpu_ms_per_msg` is every
process's (the dispatcher, PostgreSQL, the fake), against the same for the raw posts. A process busy on one core
sends at most 1 / its CPU per message.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from accord.bootstrap import bootstrap
from accord.process_heap import freeze_startup_objects, unfreeze
from accord.settings import PROJECT_ROOT, Settings
from bench.common import BenchContext, CpuPerItem, Result, cpu_per_item
from core.clock import FixedClock
from scheduler.dispatcher import Dispatcher
from storage.db import migrate
from tests.reminder_builders import bulk_sms_portfolio

ROWS = int(os.environ.get("ACCORD_BENCH_DISPATCH_ROWS", "1000"))
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: inside the CN pack's hours
IN_FLIGHT = 16  # what the Twilio channel keeps in flight (bot/channels/twilio_sms.py)
ACCOUNT_SID, AUTH_TOKEN, SERVICE_SID = "AC" + "7" * 32, "e" * 32, "MG" + "8" * 32


class TimingGate:
    """Delegates to the real gate and adds up the time spent inside it."""

    def __init__(self, gate: Any) -> None:
        self.gate, self.seconds = gate, 0.0

    def deliver_many(self, requests: Any, pace: Any = None) -> Any:
        started = time.perf_counter()
        try:
            return self.gate.deliver_many(requests, pace)
        finally:
            self.seconds += time.perf_counter() - started


def run(ctx: BenchContext) -> list[Result]:
    provider = subprocess.Popen([sys.executable, "-m", "bench.fast_twilio", ACCOUNT_SID, AUTH_TOKEN],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT)
    try:
        assert provider.stdout is not None
        base_url = provider.stdout.readline().strip()
        raw_per_s, raw_cpu = _raw_posts(base_url, max(ROWS, 2000))
        with ctx.postgres_database("accord_bench_dispatch") as url:
            migrate(url)
            per_s, gate_share, report, cpu = _dispatch(url, base_url, ctx.workdir)
    finally:
        if provider.stdin:
            provider.stdin.close()
        provider.wait(timeout=30)
    ctx.notes.append(f"dispatch: {ROWS} reminders through dispatcher + gate + twilio client -> loopback fake: "
                     f"{per_s:.0f} msg/s ({report}); raw POSTs to the same fake {raw_per_s:.0f}/s "
                     f"({IN_FLIGHT} in flight); {gate_share:.0f}% of dispatch time is inside the compliance gate")
    ctx.notes.append(f"dispatch CPU: {cpu.process_ms:.3f} ms a message in the dispatcher (raw: {raw_cpu.process_ms:.3f} "
                     f"ms a post), so one process on one core sends at most {1000 / cpu.process_ms:.0f}/s, "
                     f"{raw_cpu.process_ms / cpu.process_ms:.2f}x the raw poster's CPU rate; all processes "
                     f"{cpu.machine_ms:.3f} ms a message (raw: {raw_cpu.machine_ms:.3f}) on {os.cpu_count()} CPUs")
    return [
        Result("dispatch_msgs_per_s", per_s, "msg/s", raw_per_s),
        Result("dispatch_vs_raw_ratio", per_s / raw_per_s, "x"),
        Result("dispatch_gate_share_pct", gate_share, "%"),
        Result("dispatch_cpu_ms_per_msg", cpu.process_ms, "ms", raw_cpu.process_ms),
        Result("dispatch_machine_cpu_ms_per_msg", cpu.machine_ms, "ms", raw_cpu.machine_ms),
    ]


def _raw_posts(base_url: str, count: int) -> tuple[float, CpuPerItem]:
    with cpu_per_item(count) as cpu:
        per_s = asyncio.run(_post_all(base_url, count))
    return per_s, cpu


async def _post_all(base_url: str, count: int) -> float:
    endpoint = f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    gate = asyncio.Semaphore(IN_FLIGHT)
    async with aiohttp.ClientSession(headers={"Authorization": auth}) as session:

        async def post(n: int) -> None:
            async with gate, session.post(endpoint, data={
                    "To": f"+8613900{n:06d}", "Body": "x" * 120, "MessagingServiceSid": SERVICE_SID,
                    "StatusCallback": "http://127.0.0.1/webhooks/twilio/status"}) as reply:
                reply.raise_for_status()
                await reply.read()

        started = time.perf_counter()
        await asyncio.gather(*(post(n) for n in range(count)))
        return count / (time.perf_counter() - started)


def _dispatch(url: str, base_url: str, workdir: Path) -> tuple[float, float, dict[str, Any], CpuPerItem]:
    settings = Settings(accord_env="test", database_url=url, accord_config_dir=_config(workdir),  # type: ignore[call-arg]
                        accord_log_level="WARNING", twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                        twilio_messaging_service_sid=SERVICE_SID, twilio_api_base=base_url, _env_file=None)
    container = bootstrap(settings, clock=FixedClock(NOW))
    try:
        bulk_sms_portfolio(container, ROWS, 1)
        gate = TimingGate(container.extras["gate"])
        dispatcher = Dispatcher(container, "bench", gate=gate)
        freeze_startup_objects()  # as `accord dispatch` does before its first batch
        try:
            with cpu_per_item(ROWS) as cpu:
                per_s, gate_share, report = _drain(dispatcher, gate)
            return per_s, gate_share, report, cpu
        finally:
            unfreeze()
    finally:
        container.close()


def _drain(dispatcher: Dispatcher, gate: TimingGate) -> tuple[float, float, dict[str, Any]]:
    started = time.perf_counter()
    report = dispatcher.drain()
    seconds = time.perf_counter() - started
    if report.outcomes.get("sent") != ROWS:
        raise AssertionError(f"expected {ROWS} sent, got {report.as_dict()}")
    return ROWS / seconds, 100.0 * gate.seconds / seconds, report.as_dict()


def _config(workdir: Path) -> Path:
    """config/ with the Twilio sender limit lifted: the fake has no carrier behind it."""
    target = workdir / "dispatch-config"
    if not target.exists():
        shutil.copytree(PROJECT_ROOT / "config", target)
        path = target / "scheduler.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["rate_limits"]["twilio"] = {"per_sender_per_s": 1_000_000, "sender_burst": 100_000,
                                         "per_recipient_per_s": None}
        if "ACCORD_BENCH_CLAIM_BATCH" in os.environ:  # otherwise config/'s claim_batch, as deployed
            data["dispatch"]["claim_batch"] = int(os.environ["ACCORD_BENCH_CLAIM_BATCH"])
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target
