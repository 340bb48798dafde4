"""`config/keywords.yaml`: opt-out, help and re-subscribe keywords, matched against the whole message."""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from accord.config_files import load_model

TRAILING_PUNCTUATION = re.compile(r"[\s.!。！]+$")


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    HELP = "help"
    RESUBSCRIBE = "resubscribe"


class KeywordGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: list[str] = Field(min_length=1)
    reply_template: str = Field(min_length=1)


class KeywordsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    opt_out: KeywordGroup
    help: KeywordGroup
    resubscribe: KeywordGroup
    holding_reply_template: str = Field(min_length=1)

    @model_validator(mode="after")
    def _no_word_in_two_groups(self) -> KeywordsFile:
        seen: dict[str, str] = {}
        for kind in Keyword:
            for word in getattr(self, kind.value).words:
                key = normalise(word)
                if not key:
                    raise ValueError(f"{kind.value}: an empty keyword")
                if key in seen and seen[key] != kind.value:
                    raise ValueError(f"keyword {word!r} is in both {seen[key]} and {kind.value}")
                seen[key] = kind.value
        return self

    def group(self, kind: Keyword) -> KeywordGroup:
        return getattr(self, kind.value)


def normalise(text: str) -> str:
    """Full-width to ASCII, trimmed, trailing punctuation dropped, case-folded; inner spaces collapsed."""
    folded = unicodedata.normalize("NFKC", text)
    folded = TRAILING_PUNCTUATION.sub("", folded.strip())
    return " ".join(folded.split()).casefold()


class KeywordMatcher:
    def __init__(self, config: KeywordsFile) -> None:
        self.config = config
        self._index: dict[str, Keyword] = {}
        for kind in Keyword:
            for word in config.group(kind).words:
                self._index[normalise(word)] = kind

    def match(self, text: str) -> Keyword | None:
        return self._index.get(normalise(text))


def load_keywords(config_dir: Path) -> KeywordMatcher:
    return KeywordMatcher(load_model(config_dir / "keywords.yaml", KeywordsFile))
