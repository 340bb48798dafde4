"""`accord run` end to end: a real subprocess on a free port and a fresh SQLite file, stopped with SIGINT."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from accord.cli.main import app as accord_cli

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("accord_run")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def status_of(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def wait_for(url: str, process: subprocess.Popen[bytes], timeout_s: float = 180) -> int | None:
    deadline = time.monotonic() + timeout_s
    code = None
    while time.monotonic() < deadline and process.poll() is None:
        code = status_of(url)
        if code == 200:
            return code
        time.sleep(0.3)
    return code


def test_accord_run_serves_then_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "DATABASE_URL", "TWILIO_", "TELEGRAM_"))}
    env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'accord.db'}", "ACCORD_ENV": "development"})
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "accord.cli.main", "run", "--port", str(port),
                                    "--no-dialogue"],  # the dialogue stack has its own integration tests
                                   cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    parent = psutil.Process(process.pid)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_for(f"{base}/healthz", process) == 200, log.read_text()
        assert status_of(f"{base}/simulator") == 200
        assert status_of(f"{base}/metrics") == 200
        health = CliRunner().invoke(accord_cli, ["health", "--url", f"{base}/healthz"])
        assert health.exit_code == 0 and "healthy" in health.output  # what the container health check runs
        simulator = urllib.request.urlopen(f"{base}/simulator", timeout=5).read().decode()
        assert "DEMO-" in simulator, "the empty database was seeded with the demo portfolio"
        children = parent.children(recursive=True)
        assert len(children) >= 2, "the web app and the scheduler run as child processes"
        # The supervisor announces the URLs after its own readiness probe, which may trail ours under load.
        announced = time.monotonic() + 60
        while "Press Ctrl-C to stop." not in log.read_text() and time.monotonic() < announced:
            time.sleep(0.2)

        started = time.monotonic()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, log.read_text()
        stop_s = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    gone, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"orphaned children: {[p.pid for p in alive]}"
    output = log.read_text()
    for path in ("/simulator", "/console", "/healthz", "/metrics"):
        assert f"{base}{path}" in output
    assert "sms via sandbox" in output and "telegram via sandbox" in output
    assert "stopped" in output
    assert stop_s < 60


def test_accord_run_exits_non_zero_when_a_child_dies(tmp_path: Path) -> None:
    """A port already in use makes the web app exit; `accord run` must say so and stop the rest."""
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "DATABASE_URL"))}
        env.update({"DATABASE_URL": f"sqlite:///{tmp_path / 'accord.db'}", "ACCORD_ENV": "development"})
        result = subprocess.run(
            [sys.executable, "-m", "accord.cli.main", "run", "--port", str(port), "--no-seed", "--no-dialogue"],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
        )
    assert result.returncode == 1
    assert "web (exit code" in result.stderr and "stopped unexpectedly" in result.stderr
