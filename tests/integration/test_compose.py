"""docker-compose.yml is valid Compose, healthy by construction, free of secrets, and names real entry points.

No Docker engine runs here, so the file is checked the way `docker compose config` would: interpolated, then
validated against the Compose Specification's JSON schema (vendored in tests/fixtures/compose/).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from typer.testing import CliRunner

from accord.cli.main import app as accord_cli

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
SCHEMA = ROOT / "tests" / "fixtures" / "compose" / "compose-spec.json"
VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|_KEY\b|AUTH", re.IGNORECASE)


class MissingVariable(ValueError):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution, with $$ as a literal dollar."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group("name"), match.group("op"), match.group("arg")
        current = env.get(name)
        unset = current is None or (current == "" and op is not None and op.startswith(":"))
        if op in (":?", "?") and unset:
            raise MissingVariable(f"{name}: {arg}")
        if op in (":-", "-") and unset:
            return arg
        return current or ""

    parts = value.split("$$")
    return "$".join(VARIABLE.sub(replace, part) for part in parts)


def required_variables(text: str) -> set[str]:
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return {m.group("name") for m in VARIABLE.finditer(code) if m.group("op") in (":?", "?")}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    env = {name: f"test-{name.lower()}" for name in required_variables(COMPOSE.read_text(encoding="utf-8"))}
    return interpolate(raw, env)  # type: ignore[no-any-return]


def test_the_file_validates_against_the_compose_spec_schema(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    errors = sorted(Draft7Validator(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_the_validator_catches_a_broken_file(compose: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    misspelt = json.loads(json.dumps(compose))
    misspelt["services"]["app"]["helthcheck"] = misspelt["services"]["app"].pop("healthcheck")
    assert list(Draft7Validator(schema).iter_errors(misspelt))
    wrong_condition = json.loads(json.dumps(compose))
    wrong_condition["services"]["app"]["depends_on"]["postgres"]["condition"] = "service_happy"
    assert list(Draft7Validator(schema).iter_errors(wrong_condition))


def test_the_services_production_needs_are_all_there(compose: dict[str, Any]) -> None:
    assert {"postgres", "app", "scheduler", "rasa", "actions"} <= set(compose["services"])
    assert compose["services"]["postgres"]["volumes"], "the database needs a volume"


def test_every_long_running_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        one_shot = service.get("restart") == "no"
        if not one_shot:
            assert "healthcheck" in service and service["healthcheck"].get("test"), f"{name} has no healthcheck"
    assert "pg_isready" in " ".join(compose["services"]["postgres"]["healthcheck"]["test"])


def test_dependants_wait_for_a_healthy_database_and_a_finished_migration(compose: dict[str, Any]) -> None:
    for name in ("app", "scheduler"):
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name


def test_missing_secrets_stop_compose_with_a_message(raw: dict[str, Any]) -> None:
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD: set POSTGRES_PASSWORD in .env"):
        interpolate(raw, {"ACCORD_SECRET_KEY": "x"})


def test_no_literal_secrets(raw: dict[str, Any]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for name, service in raw["services"].items():
        environment = service.get("environment") or {}
        assert isinstance(environment, dict), f"{name}: use a mapping so values can be checked"
        for key, value in environment.items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]+\}", str(value)), f"{name}.{key} is not a ${{VAR:?}} reference"
        command = " ".join(map(str, service.get("command") or []))
        for token in re.findall(r"--[\w-]*(?:token|password|secret)[\w-]*\s+(\S+)", command):
            assert token.startswith("${"), f"{name}: a literal secret on the command line"
    # Nothing shaped like a real credential anywhere in the file.
    for pattern in (r"\bAC[0-9a-f]{32}\b", r"\b\d{6,12}:[A-Za-z0-9_-]{30,}\b", r"\b[0-9a-f]{32,}\b",
                    r"postgres(?:ql)?://[^:/\s]+:(?!\$\{)[^@\s]+@"):
        assert not re.search(pattern, text), f"credential-like text matches {pattern}"


def test_required_variables_are_documented_in_env_example() -> None:
    documented = {line.split("=", 1)[0].lstrip("# ").strip()
                  for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines() if "=" in line}
    missing = required_variables(COMPOSE.read_text(encoding="utf-8")) - documented
    assert not missing, f".env.example does not mention {sorted(missing)}"


def _accord_commands(compose: dict[str, Any]) -> list[tuple[str, list[str]]]:
    found = []
    for name, service in compose["services"].items():
        command = service.get("command")
        if command and command[0] == "accord":
            found.append((name, command[1:]))
        test = (service.get("healthcheck") or {}).get("test") or []
        if len(test) > 1 and test[0] == "CMD" and test[1] == "accord":
            found.append((f"{name} healthcheck", test[2:]))
    return found


def test_app_and_scheduler_commands_are_real_accord_commands(compose: dict[str, Any]) -> None:
    commands = _accord_commands(compose)
    assert {name for name, _ in commands} >= {"app", "scheduler", "migrate", "app healthcheck"}
    runner = CliRunner()
    for name, argv in commands:
        words = [a for a in argv if not a.startswith("-") and not re.match(r"^[\d.:/]+$|^http", a)]
        result = runner.invoke(accord_cli, [*words, "--help"])
        assert result.exit_code == 0, f"{name}: `accord {' '.join(words)} --help` failed:\n{result.output}"
        for option in (a.split("=", 1)[0] for a in argv if a.startswith("--")):
            assert option in result.output, f"{name}: `accord {' '.join(words)}` has no option {option}"


def test_the_image_default_command_is_a_real_accord_command() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    [cmd] = re.findall(r"^CMD (\[.*\])$", dockerfile, flags=re.MULTILINE)
    argv = json.loads(cmd)
    assert argv[:2] == ["accord", "serve"]
    assert CliRunner().invoke(accord_cli, ["serve", "--help"]).exit_code == 0


def test_referenced_dockerfiles_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        build = service.get("build")
        if build is None:
            assert service.get("image"), f"{name} has neither build nor image"
            continue
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        dockerfile = context / ("Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile"))
        assert context.is_dir(), f"{name}: build context {context} is missing"
        assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
