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


class Linter:
    def __init__(self, spec: ForbiddenFile) -> None:
        self.version = spec.version
        self.categories = spec.categories
        self._patterns: dict[str, list[tuple[str, str, re.Pattern[str]]]] = {lang: [] for lang in LANGUAGES}
        # One alternation per category and language: the gate lints every message, so one search per category.
        for category in spec.categories:
            for language in LANGUAGES:
                combined = "|".join(f"(?:{pattern})" for pattern in getattr(category, language))
                self._patterns[language].append((category.id, category.label, _compile(combined, language)))
        self._limited = {
            language: [_compile("|".join(f"(?:{p})" for p in patterns), language)]
            for language, patterns in spec.limited_content.items()
        }

    def lint(self, text: str, language: str) -> list[Finding]:
        """Every forbidden phrase in `text`. A language Accord does not know is checked against all of them."""
        languages = (language,) if language in self._patterns else LANGUAGES
        findings = []
        for lang in languages:
            for category, label, pattern in self._patterns[lang]:
                found = pattern.search(text)
                if found:
                    findings.append(Finding(category, label, lang, found.group(0)))
        return findings

    def lint_limited(self, text: str, language: str) -> list[Finding]:
        """Words a limited-content message may not carry: any amount, account or word for a debt."""
        languages = (language,) if language in self._limited else LANGUAGES
        findings = []
        for lang in languages:
            for pattern in self._limited[lang]:
                found = pattern.search(text)
                if found:
                    findings.append(Finding("limited_content", "account details in a limited-content message",
                                            lang, found.group(0)))
        return findings


def load_linter(config_dir: Path) -> Linter:
    path = config_dir / "lint" / "forbidden.yaml"
    try:
        return Linter(load_model(path, ForbiddenFile))
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"{path}: {exc}") from exc
