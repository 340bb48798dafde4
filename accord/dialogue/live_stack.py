"""The whole dialogue stack on loopback: Accord's web app (internal API) under uvicorn in a thread, the Rasa
servers and the action server as child processes, and the container wired to talk to them. Integration tests and
benchmarks use it; production runs the same pieces under `accord run`.
"""

from __future__ import annotations

import secrets
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accord.bootstrap import Container, bootstrap
from accord.dialogue.rasa_servers import LocalRasa
from accord.settings import Settings
from bot.rasa_engine import RasaDialogueEngine
from core.clock import Clock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveStack:
    container: Container
    rasa: LocalRasa
    accord_url: str
    engine: RasaDialogueEngine
    _server: Any
    _thread: threading.Thread

    def close(self) -> None:
        self.rasa.stop()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.container.close()


def start_stack(database_url: str, clock: Clock, *, config_dir: Path | None = None,
                workdir: Path | None = None) -> LiveStack:
    import uvicorn

    from web.app import create_app

    token = secrets.token_urlsafe(32)
    overrides: dict[str, Any] = {"accord_env": "test", "database_url": database_url,
                                 "accord_internal_api_token": token, "_env_file": None}
    if config_dir is not None:
        overrides["accord_config_dir"] = config_dir
    settings = Settings(**overrides)
    container = bootstrap(settings, clock=clock)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            container.close()
            raise RuntimeError("Accord's web app did not start")
        time.sleep(0.05)
    accord_url = f"http://127.0.0.1:{port}"
    rasa = LocalRasa(accord_url=accord_url, accord_token=token, workdir=workdir)
    try:
        rasa.start()
    except Exception:
        server.should_exit = True
        container.close()
        raise
    engine = RasaDialogueEngine(rasa.urls, token=rasa.token)
    container.extras["dialogue"] = engine
    return LiveStack(container, rasa, accord_url, engine, server, thread)
