"""Dialogue sender ids: a conversation id under this database's namespace, and nothing else, reads back."""

from __future__ import annotations

import pytest

from core.dialogue_sender import ForeignSender, conversation_of, sender_for

NS, OTHER = "3f9a01c2b7d4", "0be1c2d3e4f5"


def test_a_namespaced_sender_reads_back_to_its_conversation() -> None:
    assert sender_for(42, NS) == "3f9a01c2b7d4-42"
    assert conversation_of(sender_for(42, NS), NS) == 42


def test_a_database_without_a_namespace_uses_the_bare_id() -> None:
    assert sender_for(7, None) == "7"
    assert conversation_of("7", None) == 7


@pytest.mark.parametrize(("sender", "namespace"), [
    (f"{OTHER}-42", NS),  # another database's conversation 42
    ("42", NS),  # a tracker from before this database existed
    (f"{NS}-42", None),  # a namespaced sender at a database that has none
])
def test_a_sender_of_another_database_is_refused_by_name(sender: str, namespace: str | None) -> None:
    with pytest.raises(ForeignSender, match="belongs to another Accord database"):
        conversation_of(sender, namespace)


@pytest.mark.parametrize("sender", ["", "abc", "0", "-1", f"{NS}-0", f"{NS}-", f"{NS}-4x", f"{NS.upper()}-4",
                                    "1" * 19, "../4"])
def test_a_malformed_sender_is_refused_naming_the_expected_form(sender: str) -> None:
    with pytest.raises(ForeignSender, match="is not '<namespace>-<conversation id>'"):
        conversation_of(sender, NS)


def test_conversation_ids_are_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        sender_for(0, NS)
