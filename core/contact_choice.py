"""Which of a cardholder's contact points a planned message goes to.

Only a contact point that may be used is a candidate: consent recorded where the channel needs it, not opted
out, and active (not marked invalid or under review). The cardholder's preferred one comes first, then the
order the stage lists its channels in. The gate re-checks all of this at send time; choosing well here keeps
the outbox free of rows that could only be blocked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from core.enums import Channel, ContactPointStatus


@dataclass(frozen=True, slots=True)
class ContactOption:
    contact_point_id: int
    channel: Channel
    preferred: bool
    has_consent: bool
    opted_out: bool
    status: str
    verified: bool


def usable(option: ContactOption, consent_required: frozenset[Channel]) -> bool:
    if option.opted_out:
        return False
    if option.status != ContactPointStatus.ACTIVE:
        return False
    return option.has_consent or option.channel not in consent_required


def choose_contact(
    options: Iterable[ContactOption], channel_order: Sequence[Channel], consent_required: frozenset[Channel]
) -> ContactOption | None:
    best: ContactOption | None = None
    best_rank: tuple[bool, int, int] | None = None
    for option in options:  # a plain loop: the sweep runs this for every account of the portfolio
        if option.channel not in channel_order or not usable(option, consent_required):
            continue
        rank = (not option.preferred, channel_order.index(option.channel), option.contact_point_id)
        if best_rank is None or rank < best_rank:
            best, best_rank = option, rank
    return best
