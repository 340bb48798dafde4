"""Add the elements a pack requires to a rendered text: sender identification, opt-out instruction, disclosure.

Each element is itself an approved template, so every sentence that leaves is still catalog wording. An element
already present in the text is not added twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from compliance.catalog import Catalog
from compliance.packs import Pack
from core.enums import Channel, MessagePurpose


@dataclass(frozen=True, slots=True)
class Element:
    name: str  # "sender_identification", "opt_out_instruction", "debt_collector_disclosure"
    template_id: str
    text: str  # rendered
    at_start: bool = False


@dataclass(frozen=True, slots=True)
class Composed:
    text: str
    required: tuple[Element, ...]
    added: tuple[str, ...]  # element template ids the gate added
    first_disclosure: bool  # the text carries the first-communication disclosure


def _join(parts: list[str], language: str) -> str:
    # Chinese runs sentences together; English separates them with a space.
    return ("" if language == "zh" else " ").join(p.strip() for p in parts if p.strip())


def join_sentences(parts: list[str], language: str) -> str:
    """Rendered templates as one text, the way the pack's elements are joined to a body."""
    return _join(parts, language)


def required_elements(pack: Pack, catalog: Catalog, *, language: str, channel: Channel, purpose: MessagePurpose,
                      carries_details: bool, first_communication: bool,
                      params: Mapping[str, Any]) -> tuple[list[Element], bool]:
    """The elements this message needs, rendered; and whether the disclosure is the first-communication one."""
    spec = pack.required_elements
    elements: list[Element] = []
    first = False
    if spec.sender_identification is not None:
        elements.append(_element(catalog, "sender_identification", spec.sender_identification.prefix, language,
                                 params, at_start=spec.sender_identification.at_start))
    if spec.debt_collector_disclosure is not None and carries_details:
        first = first_communication
        template_id = spec.debt_collector_disclosure.first if first else spec.debt_collector_disclosure.later
        elements.append(_element(catalog, "debt_collector_disclosure", template_id, language, params))
    instruction = spec.opt_out_instruction
    if instruction is not None and channel in instruction.channels and purpose not in instruction.skip_purposes:
        elements.append(_element(catalog, "opt_out_instruction", instruction.footer, language, params))
    return elements, first


def _element(catalog: Catalog, name: str, template_id: str, language: str, params: Mapping[str, Any],
             *, at_start: bool = False) -> Element:
    template = catalog.get(template_id, language)
    if template is None or not template.approved:
        raise LookupError(f"the pack requires element {template_id} ({language}), which is not an approved template")
    return Element(name, template_id, catalog.render(template, params), at_start)


def compose(body: str, elements: list[Element], *, language: str, first_disclosure: bool) -> Composed:
    head: list[str] = []
    tail: list[str] = []
    added: list[str] = []
    for element in elements:
        if present(body, element):
            continue
        (head if element.at_start else tail).append(element.text)
        added.append(element.template_id)
    return Composed(_join([*head, body, *tail], language), tuple(elements), tuple(added), first_disclosure)


def present(text: str, element: Element) -> bool:
    if element.at_start:
        return text.lstrip().startswith(element.text.strip())
    return element.text.strip() in text


def missing_elements(text: str, elements: tuple[Element, ...]) -> list[str]:
    return [element.name for element in elements if not present(text, element)]
