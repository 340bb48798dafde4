"""How many SMS segments a text costs (3GPP TS 23.038).

A text made only of GSM-7 characters fits 160 septets in one segment, 153 per segment when concatenated; the
extension characters (^{}[]~|\\ and €) take two septets each. Anything else (Chinese, most emoji) is sent as
UCS-2: 70 UTF-16 code units in one segment, 67 per segment when concatenated. Characters outside the Basic
Multilingual Plane take two code units.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")
GSM7 = GSM7_BASIC | GSM7_EXTENSION


@dataclass(frozen=True, slots=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def sms_length(text: str) -> SmsLength:
    used = set(text)
    if used <= GSM7:
        septets = len(text) + sum(text.count(ch) for ch in used & GSM7_EXTENSION)
        return SmsLength("GSM-7", septets, _segments(septets, single=160, multi=153))
    units = len(text.encode("utf-16-le")) // 2
    return SmsLength("UCS-2", units, _segments(units, single=70, multi=67))


def _segments(units: int, *, single: int, multi: int) -> int:
    if units <= single:
        return 1
    return -(-units // multi)
