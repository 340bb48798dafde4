"""Where the desk meets the rest of Accord: the gate (container.extras["gate"]), the wording lint and the bot's
hand-back. Kept in one module so the desk code reads the same whichever way those services are wired.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from accord.bootstrap import Container
from compliance.contract import SendRequest
from compliance.lint import Linter, load_linter
from core.enums import Channel, MessagePurpose

# Free text is linted, not rendered: this id only labels officer free text in the SendRequest.
OFFICER_FREE_TEXT_TEMPLATE = "officer.free_text"


def gate(container: Container) -> Any | None:
    return container.extras.get("gate")


@lru_cache(maxsize=4)
def _linter(config_dir: Path) -> Linter:
    return load_linter(config_dir)


def registered_phone_counts(container: Container, jurisdiction: str) -> bool:
    """Whether the jurisdiction's pack counts the phone number on record as the cardholder: asked of the wired
    gate's own packs, so the desk and the gate cannot read different policy versions."""
    wired = gate(container)
    pack = wired.pack_for(jurisdiction) if wired is not None else None
    return bool(pack and pack.privacy.registered_phone_counts_as_verified)


def flagged_phrases(container: Container, text: str, language: str) -> list[str]:
    """The exact phrases the wording lint flags in `text` (what a rewrite must leave out)."""
    return [f.match for f in _linter(container.settings.accord_config_dir).lint(text, language)]


def reply_templates(container: Container, request: SendRequest) -> list[tuple[str, str]]:
    """Approved templates an officer may send on this conversation that the gate would allow right now,
    rendered exactly as the gate would send them."""
    from compliance.wiring import load_compliance

    the_gate = gate(container)
    if the_gate is None:
        return []
    catalog = load_compliance(container.settings.accord_config_dir).catalog
    seen: set[str] = set()
    out = []
    for template in catalog:
        if template.id in seen or MessagePurpose.OFFICER_REPLY not in template.purposes or not template.approved:
            continue
        seen.add(template.id)
        trial = SendRequest(cardholder_id=request.cardholder_id, channel=Channel(request.channel),
                            purpose=MessagePurpose.OFFICER_REPLY, template_id=template.id, author=request.author,
                            conversation_id=request.conversation_id, contact_point_id=request.contact_point_id)
        decision = the_gate.evaluate(trial)
        if decision.allowed and decision.text:
            out.append((template.id, decision.text))
    return out


def resume_bot(container: Container, conversation_id: int, actor: str) -> bool:
    """Returns whether the dialogue engine acknowledged the resume (best effort, as the dialogue layer says)."""
    from accord.dialogue.handback import resume_bot as resume

    return resume(container, conversation_id, officer=actor)


def catalog_changed(container: Container) -> None:
    """Rebuild the gate after config/templates changed, so an approval takes effect in this process at once."""
    from compliance.wiring import build_gate

    if "gate" in container.extras and "channels" in container.extras:
        container.extras["gate"] = build_gate(container.session_factory, container.clock,
                                              container.settings.accord_config_dir, container.extras["channels"],
                                              metrics=container.extras.get("metrics"))
