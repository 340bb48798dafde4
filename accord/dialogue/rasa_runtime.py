"""Running the Rasa side: one model per language, trained only when its inputs changed, and the servers.

Rasa 3.6 lives in its own Python 3.10 virtualenv (`.venv-rasa`, made by `nlu/setup_venv.sh`). Models are
cached by content: `nlu/models/<lang>-<hash>.tar.gz`, where the hash covers the language's config, the domain,
the language's NLU data, the shared rules and stories, and the Rasa version. Servers bind to 127.0.0.1 with an
auth token (Rasa's REST channel itself has none), telemetry off.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from accord.settings import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "nlu"
RASA_VENV = PROJECT_ROOT / ".venv-rasa"
MODELS_DIR = NLU_DIR / "models"
TRACKER_DIR = PROJECT_ROOT / "var" / "rasa"
LANGUAGES = ("en", "zh")
PORTS = {"en": 5005, "zh": 5006}
ACTIONS_PORT = 5055
HOST = "127.0.0.1"


class RasaSetupError(RuntimeError):
    """The Rasa environment or a model is missing; the message says how to make it."""


@dataclass(frozen=True)
class Command:
    argv: list[str]
    env: dict[str, str]
    cwd: Path


def venv_ready() -> bool:
    return (RASA_VENV / ".installed").exists() and (RASA_VENV / "bin" / "rasa").exists()


def rasa_executable() -> str:
    if not venv_ready():
        raise RasaSetupError("the Rasa environment .venv-rasa is missing: run `make .venv-rasa/.installed` "
                             "(needs Python 3.10, e.g. from pyenv)")
    return str(RASA_VENV / "bin" / "rasa")


def training_inputs(language: str) -> list[Path]:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; Accord trains {', '.join(LANGUAGES)}")
    files = [NLU_DIR / f"config-{language}.yml"]
    for folder in ("domain", f"data/{language}", "data/rules", "data/stories"):
        files += sorted((NLU_DIR / folder).rglob("*.yml"))
    if language == "zh":
        files += sorted((NLU_DIR / "jieba_userdict").glob("*.txt"))
    return files


def content_hash(paths: list[Path]) -> str:
    """A short hash of training inputs (files under nlu/, by relative path and content) and the Rasa pins."""
    digest = hashlib.sha256()
    lock = NLU_DIR / "requirements-rasa.lock"
    digest.update(lock.read_bytes() if lock.exists() else b"")
    for path in paths:
        digest.update(str(path.relative_to(NLU_DIR)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_hash(language: str) -> str:
    return content_hash(training_inputs(language))


def model_path(language: str) -> Path:
    return MODELS_DIR / f"{language}-{model_hash(language)}.tar.gz"


def rasa_env(**extra: str) -> dict[str, str]:
    env = os.environ.copy()
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", SQLALCHEMY_SILENCE_UBER_WARNING="1",
               PYTHONWARNINGS="ignore")
    env.update(extra)
    return env


def rasa_train_command(config: str, data: list[str], model: Path) -> Command:
    """`rasa train` of one config (path relative to nlu/) on the shared domain and the given data folders,
    writing the model file `model` (`<name>.tar.gz`)."""
    argv = [rasa_executable(), "train", "--config", config, "--domain", "domain", "--data", *data,
            "--out", str(model.parent), "--fixed-model-name", model.name.removesuffix(".tar.gz")]
    return Command(argv, rasa_env(), NLU_DIR)


def train_command(language: str) -> Command:
    return rasa_train_command(f"config-{language}.yml", [f"data/{language}", "data/rules", "data/stories"],
                              model_path(language))


def ensure_model(language: str, *, quiet: bool = False) -> tuple[Path, bool]:
    """The cached model for the current data, trained first if missing. Returns (path, trained_now)."""
    path = model_path(language)
    if path.exists():
        return path, False
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    command = train_command(language)
    output = subprocess.DEVNULL if quiet else None
    result = subprocess.run(command.argv, cwd=command.cwd, env=command.env, stdout=output, stderr=output,
                            check=False)
    if result.returncode != 0 or not path.exists():
        raise RasaSetupError(f"training the {language} model failed (exit {result.returncode})")
    return path, True


def server_command(language: str, *, port: int | None = None, token: str, actions_url: str | None = None,
                   model: Path | None = None) -> Command:
    """One Rasa server for `language`, on its current model unless `model` names another (experiments)."""
    path = model or model_path(language)
    if not path.exists():
        raise RasaSetupError(f"no trained {language} model for the current data ({path.name}): "
                             f"run `accord nlu train` or `make nlu-models`")
    TRACKER_DIR.mkdir(parents=True, exist_ok=True)
    argv = [rasa_executable(), "run", "--model", str(path), "--enable-api", "--interface", HOST,
            "--port", str(port or PORTS[language]), "--auth-token", token, "--endpoints", "endpoints.yml",
            "--credentials", "credentials.yml"]
    env = rasa_env(
        RASA_ACTIONS_URL=actions_url or f"http://{HOST}:{ACTIONS_PORT}/webhook",
        RASA_TRACKER_DB=str(TRACKER_DIR / f"tracker-{language}.db"),
    )
    return Command(argv, env, NLU_DIR)


def actions_command(*, port: int = ACTIONS_PORT, accord_url: str, accord_token: str) -> Command:
    argv = [rasa_executable(), "run", "actions", "--actions", "actions", "--port", str(port)]
    env = rasa_env(SANIC_HOST=HOST, ACCORD_INTERNAL_API_URL=accord_url, ACCORD_INTERNAL_API_TOKEN=accord_token)
    return Command(argv, env, NLU_DIR)


def local_rasa_url(ports: dict[str, int] | None = None) -> str:
    """The RASA_URL value for the local servers: one per language."""
    ports = ports or PORTS
    return ",".join(f"{lang}=http://{HOST}:{port}" for lang, port in ports.items())


def models_ready() -> bool:
    return venv_ready() and all(model_path(lang).exists() for lang in LANGUAGES)


def prepare_local_run() -> bool:
    """For `accord run`: True when the Rasa venv and current models exist. Then the children it starts (web,
    Rasa servers, action server) inherit one RASA_URL and one RASA_TOKEN: set here unless the operator set them."""
    if not models_ready():
        return False
    os.environ.setdefault("RASA_URL", local_rasa_url())
    os.environ.setdefault("RASA_TOKEN", hashlib.sha256(os.urandom(32)).hexdigest())
    return True
