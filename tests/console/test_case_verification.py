"""The desk's verification panel says what the gate will decide about account details on the conversation:
the same rule (compliance/right_party.py), checked against a dry run of an officer's reply through the gate."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from accord.bootstrap import Container
from compliance.right_party import Basis, right_party_of
from storage.db import transaction
from storage.tables import Cardholder, ContactPoint, Conversation
from tests.console.seed import seed
from web.console.deps import CurrentUser
from web.console.desk import reply, wiring
from web.console.desk.case_view import load_case
from web.console.masking import Viewer

# (jurisdiction, conversation verified, address verified, said they are someone else) -> what the panel says
CASES = [
    ("UK", True, False, False, Basis.CONVERSATION),
    ("UK", False, True, False, Basis.ADDRESS),
    ("UK", False, False, False, Basis.NONE),
    ("US", False, False, False, Basis.NONE),
    ("CN", False, False, False, Basis.REGISTERED_PHONE),  # the CN pack counts the phone on record
    ("CN", True, True, True, Basis.THIRD_PARTY),  # whatever else is known
]


@pytest.mark.parametrize(("jurisdiction", "conv_verified", "point_verified", "third_party", "expected"), CASES)
def test_the_panel_and_the_gate_agree_on_the_right_party(
    container: Container, jurisdiction: str, conv_verified: bool, point_verified: bool, third_party: bool,
    expected: Basis,
) -> None:
    now = container.clock.now()
    with transaction(container.session_factory) as s:
        world = seed(s, now)
        conv = s.get(Conversation, world.conversations["uk"])  # an SMS conversation held by an officer
        assert conv is not None
        holder, point = s.get(Cardholder, conv.cardholder_id), s.get(ContactPoint, conv.contact_point_id)
        assert holder is not None and point is not None and point.channel == "sms"
        holder.jurisdiction = jurisdiction
        conv.verified, point.verified, conv.third_party = conv_verified, point_verified, third_party
        conv.held_by = "oscar"
        conv_id = conv.id
    with transaction(container.session_factory) as s:
        case = load_case(s, conv_id, Viewer(unmasked=False), "en", "oscar", now,
                         registered_phone_counts=lambda j: wiring.registered_phone_counts(container, j))
        assert case is not None
        conv = case.conversation
    assert case.right_party == expected.value

    gate = wiring.gate(container)
    assert gate is not None
    user = CurrentUser(id=0, username="oscar", role="officer", language="en")
    decision = gate.evaluate(reply.request_for(conv, user, "Your balance is due; can we agree a plan?"))
    (privacy,) = [c for c in decision.checks if c.rule.endswith(".privacy")]
    assert privacy.passed is (expected in (Basis.CONVERSATION, Basis.ADDRESS, Basis.REGISTERED_PHONE))


def test_only_an_active_sms_number_counts_as_registered() -> None:
    def basis(channel: str, active: bool) -> Basis:
        address = SimpleNamespace(verified=False, channel=channel, status="active" if active else "invalid")
        return right_party_of(None, address, registered_phone_counts=True).basis

    assert basis("sms", True) is Basis.REGISTERED_PHONE
    assert basis("sms", False) is Basis.NONE
    assert basis("telegram", True) is Basis.NONE
