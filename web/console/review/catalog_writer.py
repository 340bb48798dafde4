"""Writes template approvals into config/templates/*.yaml, the one catalog the gate loads.

Round-trip YAML (ruamel) keeps the file's comments and layout, so the change reads as a small diff in review.
Writes are locked (one approval at a time), validated against the catalog's own schema, and atomic (temporary
file + rename): a bad write leaves the old file in place.
"""

from __future__ import annotations

import fcntl
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from accord.config_files import ConfigError
from compliance.catalog import TemplateFile


class CatalogWriteError(ValueError):
    pass


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    return yaml


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path.with_suffix(path.suffix + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_variant(path: Path, template_id: str, language: str, **changes: Any) -> dict[str, Any]:
    """Set fields of one language variant of one template; returns the variant as it was before."""
    yaml = _yaml()
    with _locked(path):
        original = path.read_text(encoding="utf-8")
        data = yaml.load(original)
        entry = next((t for t in data.get("templates", []) if t.get("id") == template_id), None)
        if entry is None:
            raise CatalogWriteError(f"{path.name}: template {template_id} not found")
        variant = entry.get(language)
        if variant is None:
            raise CatalogWriteError(f"{path.name}: template {template_id} has no {language} text")
        before = {k: variant.get(k) for k in ("version", "status", "approver", "approved_at", "text")}
        for key, value in changes.items():
            if key == "text":
                value = LiteralScalarString(str(value).strip() + "\n")
            variant[key] = value  # dates stay dates: written unquoted, like the rest of the catalog
        buffer = io.StringIO()
        yaml.dump(data, buffer)
        _validate(path, buffer.getvalue())
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(buffer.getvalue(), encoding="utf-8")
        os.replace(tmp, path)
    return before


def _validate(path: Path, text: str) -> None:
    import yaml as pyyaml

    try:
        TemplateFile.model_validate(pyyaml.safe_load(text))
    except (ValueError, pyyaml.YAMLError) as exc:
        raise CatalogWriteError(f"{path.name}: the change would make the file invalid: {exc}") from exc


__all__ = ["CatalogWriteError", "ConfigError", "update_variant"]
