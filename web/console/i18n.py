"""The console's own words (menus, labels, buttons) in zh and en. Cardholder-facing wording lives in the
template catalog under config/templates, never here.
"""

from __future__ import annotations

from datetime import timedelta

from web.console.i18n_catalog import CATALOG

LANGUAGES = ("en", "zh")

__all__ = ["CATALOG", "LANGUAGES", "format_duration", "from_accept_language", "translate"]


def translate(language: str, key: str, **params: object) -> str:
    """The phrase for `key`; a missing key shows itself in brackets so a reviewer spots it on screen."""
    entry = CATALOG.get(key)
    if entry is None:
        return f"[{key}]"
    text = entry.get(language) or entry["en"]
    return text.format(**params) if params else text


def from_accept_language(header: str) -> str:
    for part in header.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "en"


def format_duration(value: timedelta | float | int | None, language: str = "en") -> str:
    """'1 h 05 min' / '1小时05分': waiting times on the queue."""
    if value is None:
        return "—"
    seconds = int(value.total_seconds() if isinstance(value, timedelta) else value)
    minutes = max(seconds, 0) // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if language == "zh":
        text = (f"{days}天" if days else "") + (f"{hours}小时" if hours or days else "") + f"{mins:02d}分"
        return text
    parts = ([f"{days} d"] if days else []) + ([f"{hours} h"] if hours or days else []) + [f"{mins:02d} min"]
    return " ".join(parts)
