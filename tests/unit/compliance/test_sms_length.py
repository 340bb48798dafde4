from __future__ import annotations

from compliance.sms import sms_length


def test_gsm7_single_and_concatenated() -> None:
    assert sms_length("a" * 160).segments == 1
    assert sms_length("a" * 161).segments == 2
    assert sms_length("a" * 306).segments == 2 and sms_length("a" * 307).segments == 3
    assert sms_length("Price: £5 or $7 or ¥9").encoding == "GSM-7"


def test_extension_characters_take_two_septets() -> None:
    assert sms_length("€" * 80).units == 160 and sms_length("€" * 81).segments == 2


def test_chinese_is_ucs2_70_then_67() -> None:
    assert sms_length("您" * 70) == sms_length("您" * 70)
    assert sms_length("您" * 70).segments == 1 and sms_length("您" * 71).segments == 2
    assert sms_length("您" * 134).segments == 2 and sms_length("您" * 135).segments == 3
    assert sms_length("hello 您好").encoding == "UCS-2"


def test_emoji_outside_the_bmp_count_two_units() -> None:
    assert sms_length("😀" * 35).units == 70 and sms_length("😀" * 35).segments == 1
    assert sms_length("😀" * 36).segments == 2
