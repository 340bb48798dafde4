"""How NLU accuracy is scored, shared by bench_nlu (the models Accord serves) and
nlu/experiments/compare_models.py (per-language models against one bilingual model).

Every held-out example in nlu/tests/heldout/<lang>.yml (never used in training) is sent to a Rasa server's
/model/parse; a FallbackClassifier `nlu_fallback` counts as out_of_scope, which is how the bot treats it.

What matters most is the critical intents, the ones that must take the cardholder to a person or stop contact:
missing one (critical recall) breaks a legal or duty-of-care obligation, and reading an ordinary message as one
(critical precision, and the "benign predicted critical" count) pauses or ends a conversation for nothing, as
when "I want to talk about my bill" was read as distress. So besides accuracy and per-intent precision and
recall, the report groups intents into critical / ordinary / out_of_scope and shows the confusion between
the groups (rows gold, columns predicted).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import yaml

from accord.dialogue import rasa_runtime as rt

CRITICAL = ("distress", "dispute", "attorney", "bankruptcy", "opt_out", "cease_contact", "ask_human",
            "wrong_number")
OOS = "out_of_scope"
GROUPS = ("critical", "ordinary", OOS)
TARGETS = {"accuracy": 0.92, "oos_recall": 0.90, "critical_recall": 0.98, "critical_precision": 0.97}

Pairs = list[tuple[str, str]]  # (gold, predicted)


def heldout(language: str) -> list[tuple[str, str]]:
    """(text, gold intent) for every held-out example of `language`."""
    data = yaml.safe_load((rt.NLU_DIR / "tests" / "heldout" / f"{language}.yml").read_text(encoding="utf-8"))
    pairs = []
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            if line.strip().startswith("- "):
                pairs.append((line.strip()[2:], block["intent"]))
    return pairs


def group(intent: str) -> str:
    return "critical" if intent in CRITICAL else OOS if intent == OOS else "ordinary"


def accuracy(pairs: Pairs) -> float:
    return sum(1 for g, p in pairs if g == p) / len(pairs) if pairs else 0.0


def precision_recall(pairs: Pairs, label: str) -> tuple[float, float]:
    tp = sum(1 for g, p in pairs if g == label and p == label)
    predicted = sum(1 for _, p in pairs if p == label)
    gold = sum(1 for g, _ in pairs if g == label)
    return (tp / predicted if predicted else 1.0 if not gold else 0.0), (tp / gold if gold else 1.0)


def per_intent(pairs: Pairs) -> dict[str, tuple[float, float, int]]:
    """intent -> (precision, recall, gold count), for every gold intent."""
    gold = Counter(g for g, _ in pairs)
    return {label: (*precision_recall(pairs, label), gold[label]) for label in sorted(gold)}


def macro_f1(pairs: Pairs) -> float:
    """Macro-F1 over the gold labels of (gold, predicted) pairs."""
    scores = []
    for precision, recall, _ in per_intent(pairs).values():
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def critical_counts(pairs: Pairs) -> tuple[int, int]:
    """(recognised as their own intent, total) over the examples of critical intents."""
    critical = [(g, p) for g, p in pairs if g in CRITICAL]
    return sum(1 for g, p in critical if g == p), len(critical)


def critical_recall(pairs: Pairs) -> float:
    hits, total = critical_counts(pairs)
    return hits / total if total else 1.0


def critical_precision(pairs: Pairs) -> float:
    """Of the predictions of a critical intent, the share that were that very intent."""
    predicted = [(g, p) for g, p in pairs if p in CRITICAL]
    return sum(1 for g, p in predicted if g == p) / len(predicted) if predicted else 1.0


def oos_recall(pairs: Pairs) -> float:
    _precision, recall = precision_recall(pairs, OOS)
    return recall


def confusion(pairs: Pairs) -> dict[str, dict[str, int]]:
    """Gold group -> predicted group -> count (critical / ordinary / out_of_scope)."""
    table = {row: dict.fromkeys(GROUPS, 0) for row in GROUPS}
    for gold, predicted in pairs:
        table[group(gold)][group(predicted)] += 1
    return table


def benign_predicted_critical(pairs: Pairs) -> int:
    """Messages that were not critical (an ordinary intent or out of scope, e.g. a plain "about my bill"
    opener) but were read as a critical intent: each one would pause or end a conversation for nothing."""
    return sum(1 for g, p in pairs if g not in CRITICAL and p in CRITICAL)


def summary(pairs: Pairs) -> dict[str, Any]:
    """Every figure of one language's held-out run."""
    hits, total = critical_counts(pairs)
    return {
        "examples": len(pairs), "accuracy": accuracy(pairs), "macro_f1": macro_f1(pairs),
        "oos_recall": oos_recall(pairs), "critical_recall": critical_recall(pairs),
        "critical_precision": critical_precision(pairs), "critical_hits": hits, "critical_total": total,
        "benign_predicted_critical": benign_predicted_critical(pairs), "confusion": confusion(pairs),
        "per_intent": per_intent(pairs),
    }


def render(language: str, pairs: Pairs, weak_below: float = 0.9) -> str:
    """A plain-text report: headline figures against their targets, the group confusion table and the intents
    whose precision or recall is below `weak_below`."""
    s = summary(pairs)
    lines = [f"[{language}] {s['examples']} examples: accuracy {s['accuracy']:.3f}, OOS recall {s['oos_recall']:.3f}, "
             f"critical recall {s['critical_recall']:.3f} ({s['critical_hits']}/{s['critical_total']}), "
             f"critical precision {s['critical_precision']:.3f}, macro-F1 {s['macro_f1']:.3f}, "
             f"benign predicted critical {s['benign_predicted_critical']}"]
    missed = [k for k, target in TARGETS.items() if s[k] < target]
    lines.append("  targets missed: " + (", ".join(missed) if missed else "none"))
    lines.append("  gold \\ predicted   " + "".join(f"{g:>13}" for g in GROUPS))
    for row in GROUPS:
        lines.append(f"  {row:<18}" + "".join(f"{s['confusion'][row][col]:>13}" for col in GROUPS))
    weak = {k: v for k, v in s["per_intent"].items() if min(v[0], v[1]) < weak_below}
    for label, (precision, recall, n) in sorted(weak.items(), key=lambda kv: min(kv[1][:2])):
        lines.append(f"  weak: {label:<20} P {precision:.2f} R {recall:.2f} (n={n})")
    return "\n".join(lines)


def parse_intent(client: httpx.Client, url: str, token: str, text: str) -> str:
    """The intent a Rasa server gives `text`, with nlu_fallback read as out_of_scope."""
    response = client.post(f"{url}/model/parse", json={"text": text}, params={"token": token})
    response.raise_for_status()
    predicted = response.json()["intent"]["name"]
    return OOS if predicted == "nlu_fallback" else str(predicted)


@dataclass
class HeldoutScores:
    pairs: dict[str, Pairs] = field(default_factory=dict)  # language -> (gold, predicted)

    def f1(self, language: str) -> float:
        return macro_f1(self.pairs[language])

    def summary(self, language: str) -> dict[str, Any]:
        return summary(self.pairs[language])

    def render(self, language: str) -> str:
        return render(language, self.pairs[language])

    def _selected(self, language: str | None) -> Pairs:
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
