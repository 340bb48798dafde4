"""The held-out NLU sets stay honest: none of their sentences is in the training data (after normalising case,
whitespace and punctuation, so "Stop texting me!" and "stop texting me" count as the same), each language has
enough examples per intent to measure recall, and the domain, training data and held-out sets name the same
intents. A held-out sentence that leaks into training makes every figure in the README's table meaningless."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest
import yaml

from accord.dialogue import rasa_runtime as rt

LANGUAGES = ("en", "zh")
MIN_PER_INTENT = 20
MIN_OUT_OF_SCOPE = 60
ANNOTATION = re.compile(r"\[([^\]]*)\][({][^)}]*[)}]")  # [lost my job](hardship_type) -> lost my job


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", ANNOTATION.sub(r"\1", text)).lower()
    return "".join(ch for ch in text if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def _examples(path: Path) -> list[tuple[str, str]]:
    """(intent, example text) for every intent example in one Rasa NLU file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    pairs = []
    for block in data.get("nlu") or []:
        if "intent" not in block:
            continue
        for line in str(block.get("examples") or "").splitlines():
            if line.strip().startswith("- "):
                pairs.append((block["intent"], line.strip()[2:]))
    return pairs


def _heldout(language: str) -> list[tuple[str, str]]:
    return _examples(rt.NLU_DIR / "tests" / "heldout" / f"{language}.yml")


def _training(language: str) -> list[tuple[str, str]]:
    pairs = []
    for path in sorted((rt.NLU_DIR / "data" / language).rglob("*.yml")):
        pairs += _examples(path)
    return pairs


def _domain_intents() -> set[str]:
    intents: set[str] = set()
    for path in (rt.NLU_DIR / "domain").glob("*.yml"):
        intents.update(yaml.safe_load(path.read_text(encoding="utf-8")).get("intents") or [])
    return intents


def test_normalise_ignores_case_spacing_punctuation_and_annotations() -> None:
    assert normalise("Stop texting me!") == normalise("stop  texting me")
    assert normalise("是的，我同意。") == normalise("是的我同意")
    assert normalise("I [lost my job](hardship_type).") == "ilostmyjob"


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_heldout_example_is_in_any_training_file(language: str) -> None:
    training = {normalise(text) for lang in LANGUAGES for _, text in _training(lang)}
    leaked = sorted({text for _, text in _heldout(language) if normalise(text) in training})
    assert not leaked, f"{len(leaked)} held-out {language} examples are also training data: {leaked[:10]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_heldout_has_enough_examples_per_intent(language: str) -> None:
    counts = Counter(intent for intent, _ in _heldout(language))
    thin = {i: n for i, n in counts.items() if n < (MIN_OUT_OF_SCOPE if i == "out_of_scope" else MIN_PER_INTENT)}
    assert not thin, f"held-out {language} has too few examples for {thin}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_domain_training_and_heldout_name_the_same_intents(language: str) -> None:
    domain = _domain_intents()
    assert {i for i, _ in _heldout(language)} == domain
    assert {i for i, _ in _training(language)} == domain
