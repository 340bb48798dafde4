"""Start and stop local Rasa servers (one per language) and the action server, for tests, benchmarks and
`accord nlu parse --start`. `accord run` supervises the same commands as long-lived children instead.
"""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from accord.dialogue import rasa_runtime as rt

START_TIMEOUT_S = 300.0  # two TensorFlow models loading at once on a small machine


def _die_with_parent() -> None:
    """Children get SIGTERM if the test or benchmark process dies without stopping them (Linux)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((rt.HOST, 0))
        return int(sock.getsockname()[1])


class LocalRasa:
    def __init__(
        self,
        *,
        languages: tuple[str, ...] = rt.LANGUAGES,
        with_actions: bool = True,
        accord_url: str | None = None,
        accord_token: str | None = None,
        workdir: Path | None = None,
        models: dict[str, Path] | None = None,
    ) -> None:
        """`models` (experiments) names the model file each server loads, by the name in `languages`, instead of
        that language's current model in nlu/models/."""
        self.languages = languages
        self.models = models
        self.with_actions = with_actions
        self.accord_url = accord_url
        self.accord_token = accord_token
        self.token = secrets.token_urlsafe(24)
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="accord-rasa-"))
        self.ports = {lang: free_port() for lang in languages}
        self.actions_port = free_port()
        self.urls = {lang: f"http://{rt.HOST}:{port}" for lang, port in self.ports.items()}
        self._children: list[tuple[str, subprocess.Popen[bytes]]] = []

    @property
    def rasa_url(self) -> str:
        return ",".join(f"{lang}={url}" for lang, url in self.urls.items())

    def _spawn(self, name: str, command: rt.Command) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        child = subprocess.Popen(command.argv, cwd=command.cwd, env=command.env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent)
        self._children.append((name, child))

    def start(self, timeout_s: float = START_TIMEOUT_S) -> LocalRasa:
        if self.models is None:
            for lang in self.languages:
                rt.ensure_model(lang, quiet=True)
        actions_url = f"http://{rt.HOST}:{self.actions_port}/webhook"
        if self.with_actions:
            if not (self.accord_url and self.accord_token):
                raise ValueError("the action server needs accord_url and accord_token")
            self._spawn("actions", rt.actions_command(port=self.actions_port, accord_url=self.accord_url,
                                                      accord_token=self.accord_token))
        for lang in self.languages:
            command = rt.server_command(lang, port=self.ports[lang], token=self.token, actions_url=actions_url,
                                        model=self.models[lang] if self.models is not None else None)
            command.env["RASA_TRACKER_DB"] = str(self.workdir / f"tracker-{lang}.db")
            self._spawn(f"rasa-{lang}", command)
        try:
            self._wait(timeout_s)
        except Exception:
            self.stop()
            raise
        return self

    def _wait(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        pending = {lang: f"{url}/status" for lang, url in self.urls.items()}
        if self.with_actions:
            pending["actions"] = f"http://{rt.HOST}:{self.actions_port}/health"
        with httpx.Client(timeout=2.0) as client:
            while pending:
                for name, child in self._children:
                    if child.poll() is not None:
                        log = (self.workdir / f"{name}.log").read_text(errors="replace")[-2000:]
                        raise rt.RasaSetupError(f"{name} exited with {child.returncode}:\n{log}")
                for name, url in list(pending.items()):
                    try:
                        if client.get(url, params={"token": self.token}).status_code == 200:
                            del pending[name]
                    except httpx.HTTPError:
                        pass
                if time.monotonic() > deadline:
                    raise rt.RasaSetupError(f"not ready after {timeout_s:.0f}s: {', '.join(pending)}")
                time.sleep(0.5)

    def server_pids(self) -> dict[str, int]:
        """The process id of each running Rasa server, by language (or model name)."""
        return {name.removeprefix("rasa-"): child.pid for name, child in self._children
                if name.startswith("rasa-") and child.poll() is None}

    def stop(self) -> None:
        for _name, child in self._children:
            if child.poll() is None:
                child.terminate()
        for _name, child in self._children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._children.clear()

    def __enter__(self) -> LocalRasa:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
