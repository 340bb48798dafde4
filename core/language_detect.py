"""Which language a cardholder's message is written in: zh, en, or None when the text does not say.

Pure and dependency-free: it runs on every inbound message before the dialogue engine is chosen (one Rasa model
per language), so it must be cheap and predictable. We only tell apart the two languages Accord has models for,
so a script count is enough; a statistical detector would add a dependency and guess on the short replies
("yes", "4417") that make up most of a collections chat.

None means "this message is no evidence either way": the caller keeps the conversation's current language.
Digits (a card's last four, a birth year), punctuation, emoji and tokens that Chinese and English writers share
("ok", "hi", "haha", a lone option letter) give None, so a zh conversation is not switched to English by "ok".
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Language = Literal["zh", "en"]

# Han ideographs, simplified and traditional alike: the unified block, extension A, the compatibility block and
# the supplementary planes (extensions B to G, compatibility supplement) where rare name characters live.
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f\U00030000-\U0003134f]")
# Words in Latin script, accented letters included (a cardholder may type "café" or "José").
_LATIN_WORD = re.compile(r"[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+")

# Latin-script tokens that Chinese writers use as much as English ones: acknowledgements, laughter, greetings,
# common pinyin replies, and any single letter (an option "A", "b"). A message made only of these, digits,
# punctuation and emoji says nothing about the language the cardholder prefers.
NEUTRAL_TOKENS = frozenset({
    "ok", "okay", "okk", "okok", "k", "kk", "hi", "hii", "hello", "bye", "byebye", "haha", "hahaha", "hehe",
    "lol", "hmm", "hm", "emm", "em", "en", "enen", "ng", "xd",
    "hao", "haode", "xiexie", "xie", "dui", "shi", "shide", "duibuqi", "mei", "meiyou", "nihao",
})

# How much Chinese makes a message Chinese. Two ideographs are a word (还款, 下周, 可以); the zh model is trained
# on mixed text ("我下周 pay 500"), so any such word sends the message to it. A single ideograph counts when the
# Latin part around it is short ("ok 好", "好的 thanks"), but not inside an English sentence, where it is usually
# a name ("I paid Mr 王 yesterday").
_MIN_HAN = 2
_LONE_HAN_MAX_LATIN_WORDS = 2


def detect_language(text: str) -> Language | None:
    """zh, en, or None when the text holds no letters that tell (digits, punctuation, emoji, shared tokens)."""
    # NFKC turns full-width letters (ＯＫ, ｙｅｓ) into ASCII and compatibility ideographs into unified ones.
    folded = unicodedata.normalize("NFKC", text)
    han = len(_HAN.findall(folded))
    words = _LATIN_WORD.findall(folded)
    if han >= _MIN_HAN or (han == 1 and len(words) <= _LONE_HAN_MAX_LATIN_WORDS):
        return "zh"
    if any(len(word) > 1 and word.casefold() not in NEUTRAL_TOKENS for word in words):
        return "en"
    return None
