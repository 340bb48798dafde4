"""Time to the first bot reply: `accord run` on a fresh database, until a cardholder's first message is answered.

- first_reply_s: from starting `accord run` (what `make run` starts once the virtualenvs and the models exist)
  on an empty SQLite database to the bot's first reply in the simulator, in English and then in Chinese: the
  run migrates, seeds the demo portfolio, starts the web app, the scheduler, both Rasa servers and the action
  server, and waits until the dialogue answers its health check. Baseline: the same run with `--no-dialogue`
  until the web app is healthy, measured in the same run (what the dialogue stack adds).
- clean_clone_setup_s (only with ACCORD_BENCH_CLEAN_CLONE=1, it takes 15-30 minutes): `git clone` of this
  repository into a scratch directory and `make setup nlu-models` there (both virtualenvs from the package index,
  both Rasa models trained from scratch). A clean clone's first reply is this plus first_reply_s.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from accord.dialogue import rasa_runtime as rt
from accord.settings import PROJECT_ROOT
from bench.common import BenchContext, Result

READY_TIMEOUT_S = 900
# The demo portfolio's first Chinese and first English cardholders (ids follow the seed order).
FIRST = [("en", "DEMO-0101", "hello, I got your text"), ("zh", "DEMO-0001", "你好，收到短信了")]


def run(ctx: BenchContext) -> list[Result]:
    if not rt.models_ready():
        raise RuntimeError("the Rasa models are missing: run `make nlu-models` first")
    bare_s, _ = _start_to_first_reply(ctx.workdir / "bare", dialogue=False)
    full_s, by_language = _start_to_first_reply(ctx.workdir / "full", dialogue=True)
    ctx.notes.append("first reply after `accord run` on an empty database: " +
                     ", ".join(f"{lang} {seconds:.1f} s" for lang, seconds in by_language.items()) +
                     f"; the web app alone is healthy after {bare_s:.1f} s")
    results = [Result("first_reply_s", full_s, "s", baseline=bare_s)]
    if os.environ.get("ACCORD_BENCH_CLEAN_CLONE") == "1":
        setup_s = _clean_clone_setup(ctx.workdir / "clone")
        ctx.notes.append(f"clean clone: `make setup nlu-models` {setup_s / 60:.1f} min, so a clean clone's first "
                         f"reply comes after about {(setup_s + full_s) / 60:.1f} min")
        results.append(Result("clean_clone_setup_s", setup_s, "s"))
    return results


def _start_to_first_reply(workdir: Path, *, dialogue: bool) -> tuple[float, dict[str, float]]:
    workdir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ACCORD_", "DATABASE_URL", "TWILIO_", "TELEGRAM_"))}
    env.update({"DATABASE_URL": f"sqlite:///{workdir / 'accord.db'}", "ACCORD_ENV": "development",
                "ACCORD_LOG_LEVEL": "WARNING"})
    args = [sys.executable, "-m", "accord.cli.main", "run", "--port", str(port)]
    if not dialogue:
        args.append("--no-dialogue")
    log = workdir / "run.log"
    started = time.monotonic()
    with log.open("wb") as out:
        process = subprocess.Popen(args, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_announcement(log, process, started)
        base = f"http://127.0.0.1:{port}"
        if not dialogue:
            return time.monotonic() - started, {}
        by_language = {}
        for language, external_id, text in FIRST:
            _reply(base, _cardholder_id(workdir / "accord.db", external_id), language, text)
            by_language[language] = time.monotonic() - started
        return by_language[FIRST[0][0]], by_language
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_for_announcement(log: Path, process: subprocess.Popen[bytes], started: float) -> None:
    """`accord run` prints its URLs once every child, the dialogue included, answers its health check."""
    while "Press Ctrl-C to stop." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() - started > READY_TIMEOUT_S:
            raise RuntimeError(f"accord run did not get ready:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def _cardholder_id(database: Path, external_id: str) -> int:
    import sqlite3

    with sqlite3.connect(database) as conn:
        row = conn.execute("SELECT id FROM cardholders WHERE external_id = ?", (external_id,)).fetchone()
    if row is None:
        raise RuntimeError(f"the demo portfolio has no cardholder {external_id}")
    return int(row[0])


def _reply(base: str, cardholder_id: int, language: str, text: str) -> None:
    body = f"channel=sms&lang={language}&text={urllib.request.quote(text)}".encode()
    request = urllib.request.Request(f"{base}/simulator/cardholders/{cardholder_id}/reply", data=body,
                                     headers={"Accept": "application/json",
                                              "Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"simulator reply refused: {exc.code} {exc.read()[:300]!r}") from exc
    if answer.get("outcome") != "replied" or "sent" not in answer.get("replies", []):
        raise RuntimeError(f"the bot did not answer {text!r}: {answer}")


def _clean_clone_setup(target: Path) -> float:
    started = time.monotonic()
    subprocess.run(["git", "clone", "-q", str(PROJECT_ROOT), str(target)], check=True)
    subprocess.run(["make", "setup", "nlu-models"], cwd=target, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
