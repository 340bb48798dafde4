"""Every custom action the domain names is served by the action server, and it serves nothing else."""

from __future__ import annotations

import yaml
from conftest import NLU_DIR
from rasa_sdk.executor import ActionExecutor


def test_domain_actions_and_action_server_match() -> None:
    named: set[str] = set()
    for path in (NLU_DIR / "domain").glob("*.yml"):
        named.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("actions") or [])
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(executor.actions) == named
