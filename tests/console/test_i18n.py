"""Every console phrase exists in both languages, and every phrase a template asks for exists."""

from __future__ import annotations

import re
from pathlib import Path

from web.console.i18n import CATALOG, format_duration, from_accept_language, translate

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates" / "console"


def test_every_phrase_has_both_languages() -> None:
    missing = [key for key, entry in CATALOG.items() if set(entry) != {"en", "zh"} or not all(entry.values())]
    assert missing == []


def test_every_literal_key_used_by_a_template_exists() -> None:
    used = set()
    for path in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""(?<![\w.])t\(['"]([a-z_.]+[a-z])['"]""", path.read_text(encoding="utf-8")))
    assert used and sorted(used - set(CATALOG)) == []


def test_helpers() -> None:
    assert translate("zh", "queue.claim") == "认领"
    assert translate("en", "no.such.key") == "[no.such.key]"
    assert from_accept_language("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert from_accept_language("fr-FR") == "en"
    assert format_duration(3900, "en") == "1 h 05 min"
    assert format_duration(3900, "zh") == "1小时05分"
