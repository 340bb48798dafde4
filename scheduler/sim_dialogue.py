"""The real dialogue engine for `accord simulate --inbound FILE --dialogue rasa`, wired to the simulation only.

Servers that RASA_URL names are never used by a simulation: their action server writes through the internal API
of the Accord they were started for, that is, into the real database. Instead this starts local Rasa servers (the
current models, no training) and an action server whose internal API is Accord's web app over the simulation's
own container, on loopback, for the length of the run: every step the dialogue takes lands in the scratch copy,
and every reply still leaves through that container's gate and sandbox channels.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from accord.bootstrap import Container


class SimDialogueError(RuntimeError):
    """The local dialogue stack cannot be started; the message says what is missing and how to make it."""


@dataclass
class SimDialogue:
    rasa: Any
    server: Any
    thread: threading.Thread

    def close(self) -> None:
        self.rasa.stop()
        self.server.should_exit = True
        self.thread.join(timeout=10)


def check_ready() -> None:
    """Refuse before anything starts when the Rasa environment or a current model is missing."""
    from accord.dialogue import rasa_runtime as rt

    if not rt.venv_ready():
        raise SimDialogueError("--dialogue rasa needs the Rasa environment .venv-rasa: run "
                               "`make .venv-rasa/.installed` (Python 3.10), or run without --dialogue rasa "
                               "(every conversation then goes to an officer)")
    missing = [lang for lang in rt.LANGUAGES if not rt.model_path(lang).exists()]
    if missing:
        raise SimDialogueError(f"--dialogue rasa needs trained models for the current data; missing: "
                               f"{', '.join(missing)}. Run `accord nlu train` (or `make nlu-models`) first; a "
                               f"simulation does not train them")


def start_dialogue(container: Container, *, timeout_s: float = 300.0) -> SimDialogue:
    """Start the stack and set container.extras["dialogue"]; the container's internal API token must be the
    simulation's own (accord/cli/simulate.py makes a fresh one)."""
    import uvicorn

    from accord.dialogue.rasa_runtime import RasaSetupError
    from accord.dialogue.rasa_servers import LocalRasa, free_port
    from bot.rasa_engine import RasaDialogueEngine
    from web.app import create_app

    check_ready()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(container), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True, name="simulate-internal-api")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise SimDialogueError("Accord's internal API for the simulation did not start")
        time.sleep(0.05)
    rasa = LocalRasa(accord_url=f"http://127.0.0.1:{port}",
                     accord_token=container.settings.accord_internal_api_token.get_secret_value())
    try:
        rasa.start(timeout_s)
    except (RasaSetupError, OSError) as exc:
        server.should_exit = True
        thread.join(timeout=10)
        raise SimDialogueError(f"the local Rasa servers did not start: {exc}") from exc
    container.extras["dialogue"] = RasaDialogueEngine(rasa.urls, token=rasa.token)
    return SimDialogue(rasa, server, thread)
