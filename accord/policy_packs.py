"""The policy packs every process decides by, taken from the wired compliance gate so that the gate, the
scheduler, the dialogue steps and the console never read two different versions."""

from __future__ import annotations

from accord.bootstrap import Container
from compliance.packs import Pack, PackRegistry, load_packs


def policy_packs(container: Container) -> PackRegistry:
    packs = container.extras.get("packs")
    if packs is None:
        gate = container.extras.get("gate")
        packs = getattr(gate, "packs", None) or load_packs(container.settings.accord_config_dir)
        container.extras["packs"] = packs
    return packs


def pack_of(container: Container, jurisdiction: str) -> Pack | None:
    return policy_packs(container).get(jurisdiction)
