"""Build the compliance gate from the configuration and the container's pieces (called by the bootstrap)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.config_files import ConfigError
from compliance.audit import AuditLog
from compliance.catalog import Catalog, load_catalog
from compliance.gate import ComplianceGate
from compliance.lint import Linter, load_linter
from compliance.packs import PackRegistry, load_packs
from core.clock import Clock
from core.enums import Channel
from core.ports import ChannelAdapter


@dataclass(frozen=True)
class ComplianceConfig:
    packs: PackRegistry
    catalog: Catalog
    linter: Linter


def load_compliance(config_dir: Path) -> ComplianceConfig:
    """Packs, wording lint and catalog. Fails at start, naming file, key and reason, if any is wrong or if a pack
    requires an element template the catalog does not hold approved in both languages."""
    packs = load_packs(config_dir)
    linter = load_linter(config_dir)
    catalog = load_catalog(config_dir, linter)
    for pack in packs:
        for template_id in pack.element_templates():
            for language in ("zh", "en"):
                template = catalog.get(template_id, language)
                if template is None or not template.approved:
                    raise ConfigError(f"{packs.files[pack.pack.value]}: required_elements: {template_id} ({language}) "
                                      "is not an approved template in config/templates")
    return ComplianceConfig(packs, catalog, linter)


def build_gate(session_factory: sessionmaker[Session], clock: Clock, config_dir: Path,
               channels: Mapping[Channel, ChannelAdapter], *, metrics: Any = None) -> ComplianceGate:
    config = load_compliance(config_dir)
    return ComplianceGate(session_factory, clock, config.packs, config.catalog, channels, AuditLog(clock),
                          metrics=metrics)
