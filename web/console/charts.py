"""Charts as inline SVG, drawn on the server: no chart library, no script, readable without colour.

Every chart carries a <title> and a text table fallback is rendered beside it by the template, so screen
readers get the numbers. Labels are escaped here because the result is marked safe for Jinja.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

BAR = "#1f5f99"
NIGHT = "#e6e1d6"
ALERT = "#b3261e"


def bar_chart(title: str, items: Sequence[tuple[str, float]], unit: str = "", width: int = 520) -> Markup:
    """Horizontal bars, one per (label, value), longest first as given."""
    if not items:
        return Markup("")
    row, label_w, pad = 26, 190, 8
    top = max(v for _, v in items) or 1
    height = row * len(items) + pad * 2
    parts = [f'<svg role="img" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, value) in enumerate(items):
        y = pad + i * row
        bar_w = (width - label_w - 70) * (value / top)
        parts.append(f'<text x="{label_w - 6}" y="{y + 17}" text-anchor="end" font-size="13" fill="#1b1b1b">'
                     f'{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{bar_w:.1f}" height="{row - 8}" fill="{BAR}"/>')
        parts.append(f'<text x="{label_w + bar_w + 6:.1f}" y="{y + 17}" font-size="13" fill="#1b1b1b">'
                     f'{_num(value)}{escape(unit)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def hour_heatmap(title: str, rows: dict[str, list[int]], night: Sequence[int], width: int = 720) -> Markup:
    """One row per jurisdiction, 24 columns of local hours; night columns shaded, counts written in cells."""
    if not rows:
        return Markup("")
    label_w, cell, head = 70, (width - 70) / 24, 22
    height = head + 30 * len(rows) + 6
    parts = [f'<svg role="img" class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for h in range(24):
        x = label_w + h * cell
        if h in night:
            parts.append(f'<rect x="{x:.1f}" y="{head - 4}" width="{cell:.1f}" height="{height - head + 4}" '
                         f'fill="{NIGHT}"/>')
        parts.append(f'<text x="{x + cell / 2:.1f}" y="14" text-anchor="middle" font-size="11" fill="#444">'
                     f'{h:02d}</text>')
    top = max((max(v) for v in rows.values() if v), default=0) or 1
    for i, (label, counts) in enumerate(rows.items()):
        y = head + i * 30
        parts.append(f'<text x="{label_w - 8}" y="{y + 19}" text-anchor="end" font-size="13" fill="#1b1b1b">'
                     f'{escape(label)}</text>')
        for h, count in enumerate(counts):
            if not count:
                continue
            x = label_w + h * cell
            colour = ALERT if h in night else BAR
            opacity = 0.25 + 0.75 * count / top
            parts.append(f'<rect x="{x + 1:.1f}" y="{y + 2}" width="{cell - 2:.1f}" height="26" fill="{colour}" '
                         f'fill-opacity="{opacity:.2f}"><title>{escape(label)} {h:02d}:00 — {count}</title></rect>')
            parts.append(f'<text x="{x + cell / 2:.1f}" y="{y + 19}" text-anchor="middle" font-size="10" '
                         f'fill="{"#fff" if opacity > 0.6 else "#1b1b1b"}">{_short(count)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _short(count: int) -> str:
    return f"{count / 1000:.0f}k" if count >= 10000 else f"{count / 1000:.1f}k" if count >= 1000 else str(count)


def rate_bars(rows: Sequence[dict[str, object]], cure: str, roll: str,
              stage_label: Callable[[str], str] = str) -> list[tuple[str, float]]:
    """Cure and roll rates as percentage bars, two per stage."""
    items: list[tuple[str, float]] = []
    for row in rows:
        for label, key in ((cure, "cure_rate"), (roll, "roll_rate")):
            value = row.get(key)
            if isinstance(value, float):
                items.append((f"{stage_label(str(row['stage']))} · {label}", round(100 * value, 1)))
    return items


def relabel(items: Sequence[tuple[str, float]], label: Callable[[str], str]) -> list[tuple[str, float]]:
    """Chart items with their codes turned into words in the reader's language."""
    return [(label(code), value) for code, value in items]
