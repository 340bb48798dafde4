"""Which language a cardholder's message is in, and the turn's language and reply language built on it."""

from __future__ import annotations

import pytest

from core.language_detect import detect_language
from core.turn_language import reply_language, turn_language


@pytest.mark.parametrize("text", [
    "我下周五还五百",
    "可以分期吗",
    "好的",
    "好",  # a lone character with nothing else
    "我下週五還款",  # traditional characters
    "請問可以分期嗎？",
    "謝謝",
    "我可以 pay 500 next week",  # mixed: the zh model is trained on mixed text
    "ok 好的",
    "OK的",
    "好 thanks",
    "我的card ending 4417",
    "下周五 Friday 可以吗",
    "  我下周还  ",
    "还款😊",
    "𠮷野家",  # an extension-B ideograph counts as Han
    "\uf900\uf901",  # compatibility ideographs
])
def test_chinese(text: str) -> None:
    assert detect_language(text) == "zh"


@pytest.mark.parametrize("text", [
    "yes",
    "no",
    "Yes!",
    "I can pay 500 next Friday",
    "can I pay in installments?",
    "I lost my job",
    "thanks",
    "ok thanks",  # "thanks" is English, whatever "ok" is
    "ｙｅｓ",  # full-width letters
    "I paid Mr 王 yesterday already",  # a lone character in an English sentence is a name, not Chinese
    "José says hi",
    "STOP",
    "born in 1986",
])
def test_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize("text", [
    "",
    "   ",
    "4417",
    "1986",
    "500.00",
    "2026-12-04",
    "?",
    "？！。",
    "...",
    "👍",
    "😊😊",
    "ok",
    "OK",
    "Okay.",
    "ＯＫ",
    "ok ok",
    "k",
    "A",  # an option letter
    "b)",
    "haha",
    "hi",
    "emm",
    "haode",
    "xiexie",
    "ok 👍 4417",
    "привет",  # another script: neither model's
])
def test_no_evidence_keeps_the_conversation_language(text: str) -> None:
    assert detect_language(text) is None


def test_turn_language_prefers_the_message_then_the_conversation_then_the_profile() -> None:
    assert turn_language("en", "zh", "zh") == "en"
    assert turn_language(None, "en", "zh") == "en"
    assert turn_language(None, None, "zh") == "zh"
    assert turn_language(None, None, None) == "en"


def test_the_pack_decides_the_reply_language() -> None:
    assert reply_language("message", "en", "zh") == "en"
    assert reply_language("profile", "en", "zh") == "zh"
    assert reply_language("profile", "en", None) == "en"
