"""Whether the person on a channel is known to be the cardholder, and how it is known.

One answer for the gate, which lets account details through only to the right party, and for the officer desk,
which must tell the officer beforehand what the gate will decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from core.enums import Channel, ContactPointStatus


class Basis(StrEnum):
    THIRD_PARTY = "third_party"  # someone else is on this conversation or address: never, whatever else is known
    CONVERSATION = "verified"  # passed verification in this conversation
    ADDRESS = "address_verified"  # the address itself is verified (a Telegram chat bound to the cardholder)
    REGISTERED_PHONE = "registered_phone"  # the pack counts the phone number on record as the cardholder
    NONE = "not_verified"


_HOW = {
    Basis.THIRD_PARTY: "someone else is on this conversation or address",
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


class ConversationLike(Protocol):
    """The gate's ConversationFacts and the desk's Conversation row both fit."""

    @property
    def third_party(self) -> bool: ...
    @property
    def verified(self) -> bool: ...


class AddressLike(Protocol):
    """The gate's PointFacts and the desk's ContactPoint row both fit."""

    @property
    def verified(self) -> bool: ...
    @property
    def channel(self) -> str: ...
    @property
    def status(self) -> str: ...


def right_party_of(conversation: ConversationLike | None, address: AddressLike | None, *,
                   registered_phone_counts: bool, third_party_address: bool = False) -> RightParty:
    """`registered_phone_counts`: the pack's privacy.registered_phone_counts_as_verified.
    `third_party_address`: an active third_party protective state covers this address; the pack's matrix then
    limits what goes there whoever verified what, so it outranks every other basis."""
    if third_party_address or (conversation is not None and conversation.third_party):
        return RightParty(Basis.THIRD_PARTY)
    if conversation is not None and conversation.verified:
        return RightParty(Basis.CONVERSATION)
    if address is None:
        return RightParty(Basis.NONE)
    if address.verified:
        return RightParty(Basis.ADDRESS)
    if (registered_phone_counts and address.channel == Channel.SMS.value
            and address.status == ContactPointStatus.ACTIVE.value):
        return RightParty(Basis.REGISTERED_PHONE)
    return RightParty(Basis.NONE)
