"""One door out: nothing but the compliance gate calls a channel adapter's `send` (or `send_many`).

The test reads every module of Accord (all packages, tests excluded) and fails when
  - any `.send` or `.send_many` attribute is used (called, or taken as a value to call later) outside
    compliance/gate*.py and the adapters' own internals in bot/channels/, unless the receiver is a module (a
    plain function named send),
  - `getattr(..., "send")` or `getattr(..., "send_many")` appears anywhere outside those places,
  - a module other than the bootstrap, the channel registry or the gate imports a channel adapter class.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SKIP_DIRS = {".venv", ".venv-rasa", "tests", "var", ".git", "node_modules", "migrations", "__pycache__", "build"}
ALLOWED_SEND = ("compliance/gate", "bot/channels/")
SENDING = {"send", "send_many"}
ALLOWED_ADAPTER_IMPORTERS = (
    "accord/bootstrap.py",
    "bot/channels/",
    "compliance/gate",
    "accord/cli/simulate.py",  # builds sandbox adapters and hands them to bootstrap(channels=...); never sends
)


def _modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not SKIP_DIRS & set(p.relative_to(ROOT).parts))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _is_project_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _module_aliases(tree: ast.AST) -> set[str]:
    """Names bound to imported modules in this file (`from web.console import reply` binds `reply`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if _is_project_module(f"{node.module}.{alias.name}"):
                    names.add(alias.asname or alias.name)
    return names


def _adapter_classes() -> dict[str, set[str]]:
    """Classes in bot/channels that define `send`: {"bot.channels.sandbox": {"SandboxChannel"}, ...}."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bot" / "channels").glob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef) and item.name == "send" for item in node.body
            ):
                found.setdefault(module, set()).add(node.name)
    return found


def test_only_the_gate_calls_send() -> None:
    offenders = []
    for path in _modules():
        rel = _rel(path)
        if rel.startswith(ALLOWED_SEND):
            continue
        tree = ast.parse(path.read_text("utf-8"), filename=rel)
        modules = _module_aliases(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in SENDING:
                receiver = node.value
                if isinstance(receiver, ast.Name) and receiver.id in modules:
                    continue  # a module's own function named `send`, not an adapter method
                offenders.append(f"{rel}:{node.lineno}: .{node.attr} on {ast.unparse(receiver)}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                    and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
                    and node.args[1].value in SENDING):
                offenders.append(f"{rel}:{node.lineno}: getattr(..., {node.args[1].value!r})")
    assert offenders == [], "only compliance/gate*.py may call a channel adapter's send:\n" + "\n".join(offenders)


def test_only_the_bootstrap_and_the_gate_import_adapter_classes() -> None:
    adapters = _adapter_classes()
    assert adapters, "no channel adapter classes found in bot/channels"
    offenders = []
    for path in _modules():
        rel = _rel(path)
        if rel.startswith(ALLOWED_ADAPTER_IMPORTERS):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=rel)):
            if isinstance(node, ast.ImportFrom) and node.module in adapters:
                bad = {alias.name for alias in node.names} & adapters[node.module]
                offenders += [f"{rel}:{node.lineno}: imports {name} from {node.module}" for name in sorted(bad)]
    assert offenders == [], "channel adapters are wired by the bootstrap and used by the gate only:\n" + "\n".join(offenders)


def test_the_gate_sends_in_exactly_one_function() -> None:
    gate_files = sorted((ROOT / "compliance").glob("gate*.py"))
    senders = set()
    for path in gate_files:
        for func in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(func, ast.FunctionDef):
                continue
            for n in ast.walk(func):
                attribute = isinstance(n, ast.Attribute) and n.attr in SENDING
                by_name = (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "getattr"
                           and len(n.args) > 1 and isinstance(n.args[1], ast.Constant) and n.args[1].value in SENDING)
                if attribute or by_name:
                    senders.add(f"{_rel(path)}:{func.name}")
    assert senders == {"compliance/gate.py:_transmit"}, senders


def test_the_scan_sees_a_violation() -> None:
    tree = ast.parse("def f(channels):\n    channels['sms'].send(x)\n    g = adapter.send\n")
    hits = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "send"]
    assert len(hits) == 2
