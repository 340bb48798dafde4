"""English is linted on the lowered text where that gives exactly what a case-insensitive search gives: the two
must agree on every text, including texts with symbols, odd letters and Unicode spaces or digits."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance.lint import Linter, _lowered, load_linter

CONFIG = Path(__file__).resolve().parents[3] / "config"
LINTER = load_linter(CONFIG)
PHRASES = [example for category in LINTER.categories for example in category.examples.get("en", [])] + [
    "Example Bank: your payment of £1,234.56 is due.", "Reply STOP to opt out.", "Pay within 24 hours",
    "you will be ARRESTED", "BlackListed", "criminal   charges"]
ODD = ["£", "¥", "€", "ſ", "\u212a", "İ", "ı", "é", "e\u0301", "\u3000", "\u00a0", "٣", "ª", "_", "ß", "Σ", "ﬁ"]


def _exact(linter: Linter, text: str, language: str) -> list[tuple[str, str]]:
    """The reference: each category's case-insensitive pattern over the text as it is."""
    return [(rule.category, found.group(0)) for rule in linter._rules[language]
            if (found := rule.pattern.search(text))]


texts = st.lists(st.one_of(st.sampled_from(PHRASES), st.sampled_from(ODD), st.text(max_size=12)),
                 max_size=8).map(lambda parts: " ".join(parts))


@settings(max_examples=1500, deadline=None)
@given(text=texts, upper=st.booleans())
def test_the_lowered_search_finds_what_the_case_insensitive_search_finds(text: str, upper: bool) -> None:
    text = text.upper() if upper else text
    assert [(f.category, f.match) for f in LINTER.lint(text, "en")] == _exact(LINTER, text, "en")


def test_only_caseless_symbols_outside_ascii_allow_the_lowered_search() -> None:
    assert _lowered("Pay £5 NOW") == "pay £5 now"
    for odd in ("ſ", "\u212a", "İ", "é", "\u3000", "٣", "ª"):
        assert _lowered(f"pay {odd}") is None, odd


def test_a_finding_quotes_the_text_as_written() -> None:
    (finding,) = [f for f in LINTER.lint("You will be ARRESTED.", "en") if f.category == "threat_arrest"]
    assert finding.match == "ARRESTED"


def test_every_shipped_english_category_uses_the_lowered_search() -> None:
    assert all(rule.folded is not None for rule in LINTER._rules["en"])


def test_a_pattern_the_lowered_search_could_misread_keeps_the_case_insensitive_search() -> None:
    from compliance.lint import _rule

    for pattern in (r"(?-i:Bank)\W+fees", r"(?-i:fee)s", r"\bFEE\b", r"(?P<word>fee)"):
        assert _rule("c", "label", pattern, "en").folded is None, pattern
    scoped = _rule("c", "label", r"(?-i:fee)s", "en")
    assert scoped.pattern.search("FEES") is None and scoped.pattern.search("fees")
