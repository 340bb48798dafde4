"""config/keywords.yaml: whole-message keywords, normalised the way carriers match them."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from accord.config_files import ConfigError
from bot.keywords import Keyword, load_keywords

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", Keyword.OPT_OUT), ("stop", Keyword.OPT_OUT), ("  Stop!  ", Keyword.OPT_OUT),
        ("ＳＴＯＰ", Keyword.OPT_OUT), ("退订", Keyword.OPT_OUT), ("td", Keyword.OPT_OUT), ("TD。", Keyword.OPT_OUT),
        ("opt  out", Keyword.OPT_OUT), ("STOPALL", Keyword.OPT_OUT), ("revoke", Keyword.OPT_OUT),
        ("/stop", Keyword.OPT_OUT), ("HELP", Keyword.HELP), ("info", Keyword.HELP), ("帮助", Keyword.HELP),
        ("START", Keyword.RESUBSCRIBE), ("unstop", Keyword.RESUBSCRIBE),
        ("please stop", None), ("stop it", None), ("help me pay", None), ("", None), ("/start abc", None),
    ],
)
def test_whole_message_matching(text: str, expected: Keyword | None) -> None:
    assert load_keywords(CONFIG).match(text) is expected


def test_every_legally_required_opt_out_word_is_configured() -> None:
    matcher = load_keywords(CONFIG)
    for word in ("STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "OPTOUT", "REVOKE", "退订", "TD"):
        assert matcher.match(word) is Keyword.OPT_OUT, word


def test_keyword_replies_name_templates_in_the_catalog() -> None:
    ids = {
        template["id"]
        for path in sorted((CONFIG / "templates").glob("*.yaml"))
        for template in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("templates", [])
    }
    keywords = load_keywords(CONFIG).config
    named = {keywords.group(kind).reply_template for kind in Keyword} | {keywords.holding_reply_template}
    assert named <= ids, f"not in the wording catalog: {sorted(named - ids)}"


def test_a_word_in_two_groups_is_refused_naming_the_file(tmp_path: Path) -> None:
    data = yaml.safe_load((CONFIG / "keywords.yaml").read_text(encoding="utf-8"))
    data["help"]["words"].append("stop")
    (tmp_path / "keywords.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"keywords\.yaml: .*'stop' is in both opt_out and help"):
        load_keywords(tmp_path)
