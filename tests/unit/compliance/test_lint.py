"""The wording lint: every forbidden example is caught in its language; the approved catalog passes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compliance.catalog_lint import lint_catalog
from compliance.lint import load_linter
from compliance.wiring import load_compliance

CONFIG = Path(__file__).resolve().parents[3] / "config"
RULES_EXAMPLES = yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "fixtures" / "compliance" / "rules_wording_examples.yaml").read_text("utf-8")
)
LINTER = load_linter(CONFIG)


@pytest.mark.parametrize(("language", "text"), [("en", t) for t in RULES_EXAMPLES["en"]]
                         + [("zh", t) for t in RULES_EXAMPLES["zh"]])
def test_every_rules_example_is_caught_in_its_language(language: str, text: str) -> None:
    assert LINTER.lint(text, language), f"not caught: {text!r}"


def test_the_examples_cover_every_fragment_the_rules_name() -> None:
    for fragment in RULES_EXAMPLES["fragments"]["zh"]:
        assert any(fragment in text for text in RULES_EXAMPLES["zh"]), fragment


def test_every_category_catches_its_own_examples() -> None:
    for category in LINTER.categories:
        assert category.examples, f"{category.id} has no examples"
        for language, examples in category.examples.items():
            for text in examples:
                assert category.id in {f.category for f in LINTER.lint(text, language)}, (category.id, text)


@pytest.mark.parametrize(("language", "text"), [
    ("en", "Missed payments can affect your ability to borrow in future."),
    ("en", "Please make a payment, or reply to agree a plan that works for you."),
    ("en", "If you already paid, thank you. A member of our team will reply as soon as possible."),
    ("en", "Late fees apply while the account is overdue."),
    ("en", "Our specialist recovery team will contact you about repaying the balance."),
    ("en", "This is a final reminder about your account."),
    ("en", "Classic assistance: we can pass your message to a colleague."),
    ("zh", "逾期记录将按规定报送中国人民银行征信系统。"),
    ("zh", "如还款遇到困难，请直接回复本信息，我们会与您一起想办法。"),
    ("zh", "该链接仅可使用一次，有效期24小时。"),
    ("zh", "账户可能转交本行专门的还款管理团队跟进。"),
])
def test_plain_honest_wording_is_not_flagged(language: str, text: str) -> None:
    assert LINTER.lint(text, language) == []


def test_the_approved_catalog_passes() -> None:
    assert lint_catalog(load_compliance(CONFIG)) == []


def test_limited_content_words_are_caught() -> None:
    assert LINTER.lint_limited("Your balance is $50.00", "en")
    assert LINTER.lint_limited("您的欠款为50元", "zh")
    assert LINTER.lint_limited("Please reply to this message.", "en") == []


def test_unknown_language_is_checked_against_every_list() -> None:
    assert LINTER.lint("老赖", "fr") and LINTER.lint("deadbeat", "fr")
