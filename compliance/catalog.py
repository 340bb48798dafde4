"""The wording catalog: every sentence Accord can send is a versioned, approved template in `config/templates/`.

Each file (split by concern: reminders.yaml, followups.yaml, system.yaml, dialogue.yaml, ...) holds a list of
templates. A template has an id, the purposes it may serve, whether it is limited content, its placeholders'
types, and one entry per language with its own version, status (draft / approved / retired), approver,
approval date and text. Adding a file adds templates; an id defined twice is an error naming both files.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from accord.config_files import ConfigError, load_model
from compliance.formatting import CONTEXT_PARAM_TYPES, ParamType, RenderError, format_value
from compliance.lint import Linter
from core.enums import MessagePurpose, Stage, Tone

Status = Literal["draft", "approved", "retired"]
LANGUAGES = ("zh", "en")


class VariantModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    status: Status
    approver: str | None = None
    approved_at: date | None = None
    text: str = Field(min_length=1)

    @model_validator(mode="after")
    def _approval(self) -> VariantModel:
        if self.status == "approved" and not (self.approver and self.approved_at):
            raise ValueError("an approved template needs approver and approved_at")
        return self


class TemplateModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
    # "element": a prefix, footer or disclosure the gate adds to messages because a pack requires it.
    kind: Literal["message", "element"] = "message"
    purposes: list[MessagePurpose] = []
    limited_content: bool = False
    stage: Stage | None = None
    tone: Tone | None = None
    description: str | None = None
    params: dict[str, ParamType] = {}
    # What the gate sends instead while the person on the channel is not yet known to be the cardholder: a
    # limited-content template that serves the same purpose. Without one, such a message is blocked.
    limited_alternative: str | None = None
    zh: VariantModel | None = None
    en: VariantModel | None = None

    @model_validator(mode="after")
    def _shape(self) -> TemplateModel:
        if self.zh is None and self.en is None:
            raise ValueError("a template needs at least one language (zh, en)")
        if self.kind == "message" and not self.purposes:
            raise ValueError("a message template must list the purposes it may serve")
        if self.limited_content and self.limited_alternative:
            raise ValueError("a limited-content template needs no limited_alternative")
        return self


class TemplateFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    templates: list[TemplateModel] = Field(min_length=1)


class Institution(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: dict[Literal["zh", "en"], str]
    website: str

    @model_validator(mode="after")
    def _languages(self) -> Institution:
        if set(self.name) != set(LANGUAGES):
            raise ValueError("name needs exactly the languages zh and en")
        return self


@dataclass(frozen=True, slots=True)
class Template:
    """One language of one template: what a message row records as template id and version."""

    id: str
    language: str
    version: int
    status: Status
    approver: str | None
    approved_at: date | None
    kind: str
    purposes: tuple[MessagePurpose, ...]
    limited_content: bool
    params: Mapping[str, ParamType]
    text: str
    file: str
    stage: Stage | None = None
    tone: Tone | None = None
    limited_alternative: str | None = None

    @property
    def approved(self) -> bool:
        return self.status == "approved"

    @property
    def fields(self) -> tuple[str, ...]:
        return placeholders(self.text)


def placeholders(text: str) -> tuple[str, ...]:
    """Placeholder names in order; raises RenderError for anything but plain {name} fields."""
    names: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise RenderError(f"unbalanced braces: {exc}") from exc
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise RenderError(f"placeholder {{{name}}} must be a plain name like {{amount_due}}")
        names.append(name)
    return tuple(names)


class Catalog:
    def __init__(self, templates: dict[tuple[str, str], Template], institution: Institution, linter: Linter,
                 files: tuple[Path, ...] = ()) -> None:
        self._templates = templates
        self.institution = institution
        self.linter = linter
        self.files = files
        digest = hashlib.sha256()
        for key in sorted(templates):
            t = templates[key]
            digest.update(f"{t.id}|{t.language}|{t.version}|{t.status}|{t.text}\n".encode())
        self.fingerprint = digest.hexdigest()[:12]

    def get(self, template_id: str, language: str) -> Template | None:
        return self._templates.get((template_id, language))

    def ids(self) -> set[str]:
        return {template_id for template_id, _ in self._templates}

    def reply_purpose(self, template_id: str) -> MessagePurpose:
        """bot_reply, unless the template serves only a protective state's acknowledgement."""
        for language in ("en", "zh"):
            template = self._templates.get((template_id, language))
            if template is not None and MessagePurpose.BOT_REPLY not in template.purposes and (
                    MessagePurpose.STATE_ACKNOWLEDGEMENT in template.purposes):
                return MessagePurpose.STATE_ACKNOWLEDGEMENT
        return MessagePurpose.BOT_REPLY

    def __iter__(self) -> Iterator[Template]:
        return iter(self._templates[key] for key in sorted(self._templates))

    def base_params(self, language: str) -> dict[str, str]:
        return {"sender": self.institution.name[language], "website": self.institution.website}  # type: ignore[index]

    def render(self, template: Template, params: Mapping[str, Any], currency: str | None = None) -> str:
        values = {}
        for name in template.fields:
            if name not in params or params[name] is None:
                raise RenderError(f"template {template.id} ({template.language}) needs parameter {name}")
            kind = template.params.get(name) or CONTEXT_PARAM_TYPES.get(name, "text")
            values[name] = format_value(name, params[name], kind, template.language, currency)
        return template.text.format_map(values)

    def policy_versions(self) -> dict[str, str]:
        return {"templates": self.fingerprint, "lint": self.linter.version}


def load_institution(config_dir: Path) -> Institution:
    return load_model(config_dir / "institution.yaml", Institution)


def load_catalog(config_dir: Path, linter: Linter) -> Catalog:
    directory = config_dir / "templates"
    files = tuple(sorted(directory.glob("*.yaml")))
    if not files:
        raise ConfigError(f"{directory}: no template files (*.yaml)")
    templates: dict[tuple[str, str], Template] = {}
    defined_in: dict[str, Path] = {}
    for path in files:
        for model in load_model(path, TemplateFile).templates:
            if model.id in defined_in:
                raise ConfigError(f"{path}: template {model.id} is already defined in {defined_in[model.id]}")
            defined_in[model.id] = path
            for language in LANGUAGES:
                variant: VariantModel | None = getattr(model, language)
                if variant is None:
                    continue
                try:
                    placeholders(variant.text)
                except RenderError as exc:
                    raise ConfigError(f"{path}: {model.id}.{language}.text: {exc}") from exc
                templates[(model.id, language)] = Template(
                    id=model.id, language=language, version=variant.version, status=variant.status,
                    approver=variant.approver, approved_at=variant.approved_at, kind=model.kind,
                    purposes=tuple(model.purposes), limited_content=model.limited_content,
                    params=dict(model.params), text=variant.text.strip(), file=path.name,
                    stage=model.stage, tone=model.tone, limited_alternative=model.limited_alternative,
                )
    return Catalog(templates, load_institution(config_dir), linter, files)
