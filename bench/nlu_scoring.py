"""How NLU accuracy is scored, shared by bench_nlu (the models Accord serves) and
nlu/experiments/compare_models.py (per-language models against one bilingual model).

Every held-out example in nlu/tests/heldout/<lang>.yml (never used in training) is sent to a Rasa server's
/model/parse; a FallbackClassifier `nlu_fallback` counts as out_of_scope, which is how the bot treats it.
Macro-F1 is over every intent of the language; critical recall is over the intents that must never be missed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import httpx
import yaml

from accord.dialogue import rasa_runtime as rt

CRITICAL = ("opt_out", "attorney", "bankruptcy", "dispute", "distress", "ask_human", "wrong_number")


def heldout(language: str) -> list[tuple[str, str]]:
    """(text, gold intent) for every held-out example of `language`."""
    data = yaml.safe_load((rt.NLU_DIR / "tests" / "heldout" / f"{language}.yml").read_text(encoding="utf-8"))
    pairs = []
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            if line.strip().startswith("- "):
                pairs.append((line.strip()[2:], block["intent"]))
    return pairs


def macro_f1(pairs: list[tuple[str, str]]) -> float:
    """Macro-F1 over the gold labels of (gold, predicted) pairs."""
    labels = sorted({gold for gold, _ in pairs})
    scores = []
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


def critical_counts(pairs: list[tuple[str, str]]) -> tuple[int, int]:
    """(recognised, total) over the examples of critical intents."""
    critical = [(g, p) for g, p in pairs if g in CRITICAL]
    return sum(1 for g, p in critical if g == p), len(critical)


def critical_recall(pairs: list[tuple[str, str]]) -> float:
    hits, total = critical_counts(pairs)
    return hits / total if total else 1.0


def parse_intent(client: httpx.Client, url: str, token: str, text: str) -> str:
    """The intent a Rasa server gives `text`, with nlu_fallback read as out_of_scope."""
    response = client.post(f"{url}/model/parse", json={"text": text}, params={"token": token})
    response.raise_for_status()
    predicted = response.json()["intent"]["name"]
    return "out_of_scope" if predicted == "nlu_fallback" else str(predicted)


@dataclass
class HeldoutScores:
    pairs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # language -> (gold, predicted)

    def f1(self, language: str) -> float:
        return macro_f1(self.pairs[language])

    def _selected(self, language: str | None) -> list[tuple[str, str]]:
        if language is not None:
            return self.pairs[language]
        return [pair for pairs in self.pairs.values() for pair in pairs]

    def critical_recall(self, language: str | None = None) -> float:
        """Over one language, or over every scored language together."""
        return critical_recall(self._selected(language))

    def critical_counts(self, language: str | None = None) -> tuple[int, int]:
        return critical_counts(self._selected(language))

    def mistakes(self, language: str, top: int = 8) -> dict[str, int]:
        wrong = Counter(f"{g}->{p}" for g, p in self.pairs[language] if g != p)
        return dict(wrong.most_common(top))


def score_heldout(client: httpx.Client, urls: dict[str, str], token: str) -> HeldoutScores:
    """Score the server at urls[lang] on each language's held-out file (one server may serve several)."""
    scores = HeldoutScores()
    for language, url in urls.items():
        scores.pairs[language] = [(gold, parse_intent(client, url, token, text)) for text, gold in heldout(language)]
    return scores
