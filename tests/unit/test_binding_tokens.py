"""Binding-link helpers: phone normalisation for shared contacts, link format, token hashing."""

from __future__ import annotations

import pytest

from bot.binding import deep_link, hash_token, normalise_phone


@pytest.mark.parametrize(("raw", "e164"), [
    ("8613800138000", "+8613800138000"),  # Telegram often drops the plus
    ("+8613800138000", "+8613800138000"),
    ("12125550123", "+12125550123"),
    (" +44 7700 900123 ", "+447700900123"),
])
def test_shared_contact_numbers_become_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "+", "abc", "12", "+999999999999999999"])
def test_numbers_that_cannot_be_a_phone_match_nothing(raw: str) -> None:
    assert normalise_phone(raw) is None


def test_links_and_hashes() -> None:
    assert deep_link("@accord_bot", "abc-_1") == "https://t.me/accord_bot?start=abc-_1"
    assert hash_token("abc") == hash_token("abc") != hash_token("abd")
    assert len(hash_token("abc")) == 64 and "abc" not in hash_token("abc")
