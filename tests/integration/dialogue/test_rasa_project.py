"""The Rasa project itself, checked with Rasa's own tools under .venv-rasa: the data validates, the
conversation test stories pass in both languages without a single prediction error, and the custom actions pass
their tests (recorded trackers, the real CollectingDispatcher, a loopback fake of Accord's internal API)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from accord.dialogue import rasa_runtime as rt

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rasa")]


def _run(argv: list[str], timeout: int = 900) -> subprocess.CompletedProcess[str]:
    if not rt.venv_ready():
        pytest.fail("the Rasa environment is missing: run `make nlu-models` (make test does this first)")
    return subprocess.run(argv, cwd=rt.NLU_DIR, env=rt.rasa_env(), capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.mark.parametrize("language", rt.LANGUAGES)
def test_rasa_data_validates(language: str) -> None:
    result = _run([rt.rasa_executable(), "data", "validate", "--fail-on-warnings", "--domain", "domain",
                   "--data", f"data/{language}", "data/rules", "data/stories", "--config",
                   f"config-{language}.yml"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.mark.parametrize("language", rt.LANGUAGES)
def test_conversation_stories_pass_without_prediction_errors(language: str, tmp_path: Path) -> None:
    model, _trained = rt.ensure_model(language, quiet=True)
    result = _run([rt.rasa_executable(), "test", "core", "--model", str(model), "--stories",
                   f"tests/conversations/test_{language}.yml", "--fail-on-prediction-errors",
                   "--out", str(tmp_path)])
    failed = tmp_path / "failed_test_stories.yml"
    detail = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:] + detail[-4000:]


def test_custom_actions() -> None:
    python = str(rt.RASA_VENV / "bin" / "python")
    result = _run([python, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider", "tests/actions"])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert sys.executable != python  # the actions ran under Rasa's own interpreter
