"""Whether the person on a channel is known to be the cardholder, and how it is known.

One answer for the gate, which lets account details through only to the right party, and for the officer desk,
which must tell the officer beforehand what the gate will decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.enums import Channel


class Basis(StrEnum):
    THIRD_PARTY = "third_party"  # the person said they are someone else: never, whatever else is known
    CONVERSATION = "verified"  # passed verification in this conversation
    ADDRESS = "address_verified"  # the address itself is verified (a Telegram chat bound to the cardholder)
    REGISTERED_PHONE = "registered_phone"  # the pack counts the phone number on record as the cardholder
    NONE = "not_verified"


_HOW = {
    Basis.THIRD_PARTY: "the person in this conversation said they are someone else",
    Basis.CONVERSATION: "verified in this conversation",
    Basis.ADDRESS: "this address is verified",
    Basis.REGISTERED_PHONE: "the phone number on record (the pack counts it as the cardholder)",
    Basis.NONE: "not yet verified as the cardholder",
}


@dataclass(frozen=True, slots=True)
class RightParty:
    basis: Basis

    @property
    def confirmed(self) -> bool:
        return self.basis in (Basis.CONVERSATION, Basis.ADDRESS, Basis.REGISTERED_PHONE)

    @property
    def how(self) -> str:
        return _HOW[self.basis]


def right_party_of(*, third_party: bool, conversation_verified: bool, address_verified: bool,
                   address_channel: str | None, address_active: bool, registered_phone_counts: bool) -> RightParty:
    if third_party:
        return RightParty(Basis.THIRD_PARTY)
    if conversation_verified:
        return RightParty(Basis.CONVERSATION)
    if address_verified:
        return RightParty(Basis.ADDRESS)
    if registered_phone_counts and address_channel == Channel.SMS.value and address_active:
        return RightParty(Basis.REGISTERED_PHONE)
    return RightParty(Basis.NONE)
