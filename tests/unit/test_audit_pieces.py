"""The canonical record split around the values PostgreSQL fills in when it chains audit events itself: joined
again with those values, the pieces are exactly the canonical record the audit log hashes and verifies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.audit import NotChainableInDatabase, canonical, canonical_pieces, normalise_payload

AT = datetime(2026, 11, 24, 1, 2, 3, 456789, tzinfo=UTC)
PREV = "ab" * 32
# Any JSON a payload could hold, without the two marker characters.
_TEXT = st.text(st.characters(blacklist_characters="\ue000\ue001", blacklist_categories=("Cs",)), max_size=12)
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | _TEXT,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
                     max_leaves=8)


@given(payload=st.dictionaries(_TEXT, _JSON, max_size=5), subject=_TEXT, seq=st.integers(1, 10**12))
def test_pieces_around_prev_hash_and_seq_rebuild_the_canonical_record(payload: dict, subject: str, seq: int) -> None:
    clean = normalise_payload(payload)
    pieces = canonical_pieces(AT, "officer:kim", "test.event", "account", clean, subject)
    assert pieces[0] + PREV + pieces[1] + str(seq) + pieces[2] == canonical(
        seq, AT, "officer:kim", "test.event", "account", subject, clean, PREV)


@given(payload=st.dictionaries(_TEXT, _JSON, max_size=5), decision=st.integers(1, 10**12),
       message=st.integers(1, 10**12), seq=st.integers(1, 10**12))
def test_pieces_of_a_decision_also_leave_its_ids_to_the_database(payload: dict, decision: int, message: int,
                                                                 seq: int) -> None:
    clean = normalise_payload(payload)
    pieces = canonical_pieces(AT, "bot", "compliance.decision", "message", clean)
    joined = (pieces[0] + str(decision) + pieces[1] + PREV + pieces[2] + str(seq) + pieces[3] + str(message)
              + pieces[4])
    assert joined == canonical(seq, AT, "bot", "compliance.decision", "message", str(message),
                               {**clean, "decision_id": decision}, PREV)


def test_a_record_holding_a_marker_character_is_refused() -> None:
    with pytest.raises(NotChainableInDatabase):
        canonical_pieces(AT, "bot", "test.event", "account", {"note": "\ue001"}, "A-1")
