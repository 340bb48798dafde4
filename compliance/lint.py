"""The wording lint: forbidden collection language per language, loaded from `config/lint/forbidden.yaml`.

The list is data, so compliance staff extend it without code. The same linter checks the catalog (at load and
in `accord compliance lint`) and every rendered text at the gate, including an officer's free text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from accord.config_files import ConfigError, load_model

LANGUAGES = ("zh", "en")


class CategoryModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    en: list[str] = Field(min_length=1)
    zh: list[str] = Field(min_length=1)
    examples: dict[str, list[str]] = {}

    @model_validator(mode="after")
    def _compiles(self) -> CategoryModel:
        for language in LANGUAGES:
            for pattern in getattr(self, language):
                _compile(pattern, language)
        return self


class ForbiddenFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    categories: list[CategoryModel] = Field(min_length=1)
    limited_content: dict[str, list[str]]

    @model_validator(mode="after")
    def _valid(self) -> ForbiddenFile:
        ids = [c.id for c in self.categories]
        if len(ids) != len(set(ids)):
            raise ValueError(f"category ids must be unique, got {ids}")
        if set(self.limited_content) != set(LANGUAGES):
            raise ValueError("limited_content needs patterns for exactly zh and en")
        for language, patterns in self.limited_content.items():
            for pattern in patterns:
                _compile(pattern, language)
        return self


def _compile(pattern: str, language: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE if language == "en" else 0)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Finding:
    category: str  # e.g. "insults", or "limited_content"
    label: str
    language: str
    match: str

    def describe(self) -> str:
        return f"{self.label} ({self.category}): {self.match!r}"


@dataclass(frozen=True, slots=True)
class _Rule:
    category: str
    label: str
    pattern: re.Pattern[str]
    folded: re.Pattern[str] | None  # the same pattern, case-sensitive, for a lowered text (see _lowered)


class Linter:
    def __init__(self, spec: ForbiddenFile) -> None:
        self.version = spec.version
        self.categories = spec.categories
        self._rules: dict[str, list[_Rule]] = {lang: [] for lang in LANGUAGES}
        # One alternation per category and language: the gate lints every message, so one search per category.
        for category in spec.categories:
            for language in LANGUAGES:
                combined = "|".join(f"(?:{pattern})" for pattern in getattr(category, language))
                self._rules[language].append(_rule(category.id, category.label, combined, language))
        self._limited = {
            language: [_rule("limited_content", "account details in a limited-content message",
                             "|".join(f"(?:{p})" for p in patterns), language)]
            for language, patterns in spec.limited_content.items()
        }

    def lint(self, text: str, language: str) -> list[Finding]:
        """Every forbidden phrase in `text`. A language Accord does not know is checked against all of them."""
        return _search(self._rules, text, language)

    def lint_limited(self, text: str, language: str) -> list[Finding]:
        """Words a limited-content message may not carry: any amount, account or word for a debt."""
        return _search(self._limited, text, language)


def _rule(category: str, label: str, pattern: str, language: str) -> _Rule:
    folded = None
    if language == "en" and not _NOT_FOLDABLE.search(pattern):
        folded = re.compile(pattern, re.ASCII)
    return _Rule(category, label, _compile(pattern, language), folded)


def _search(rules: dict[str, list[_Rule]], text: str, language: str) -> list[Finding]:
    languages = (language,) if language in rules else LANGUAGES
    findings = []
    for lang in languages:
        lowered = _lowered(text) if any(rule.folded for rule in rules[lang]) else None  # zh: never folded
        for rule in rules[lang]:
            if rule.folded is not None and lowered is not None:
                found = rule.folded.search(lowered)
            else:
                found = rule.pattern.search(text)
            if found:
                findings.append(Finding(rule.category, rule.label, lang, text[found.start():found.end()]))
    return findings


# English is matched case-insensitively, and Python's IGNORECASE search costs two to three times a case-sensitive
# search of the lowered text. The gate lints every message, so where the two give the same answer the lowered
# text is searched: the pattern has no upper-case letter at all (so no \W or \S either) and no inline flag such
# as (?-i:...), and every non-ASCII character of the text is a caseless symbol that no letter, digit, space or
# word pattern matches either way (such as "£" or "¥"). Lowering such a text changes only ASCII letters, so
# positions stay the same.
_NOT_FOLDABLE = re.compile(r"[A-Z]|\(\?[a-zL-]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _lowered(text: str) -> str | None:
    for char in set(_NON_ASCII.findall(text)):
        if char.isalnum() or char.isspace() or char.lower() != char or char.upper() != char:
            return None
    return text.lower()


def load_linter(config_dir: Path) -> Linter:
    path = config_dir / "lint" / "forbidden.yaml"
    try:
        return Linter(load_model(path, ForbiddenFile))
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{path}: {exc}") from exc
