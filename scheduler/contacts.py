"""Loading the contact points the planners choose from, for a whole batch of cardholders at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from core.contact_choice import ContactOption
from core.enums import Channel
from storage.tables import ContactPoint

_CP = ContactPoint.__table__


def contact_options(bind: Session | Connection, cardholder_ids: Collection[int]) -> dict[int, list[ContactOption]]:
    if not cardholder_ids:
        return {}
    rows = bind.execute(
        select(
            _CP.c.id, _CP.c.cardholder_id, _CP.c.channel, _CP.c.preferred, _CP.c.consent_basis.is_not(None),
            _CP.c.opted_out_at.is_not(None), _CP.c.status, _CP.c.verified,
        ).where(_CP.c.cardholder_id.in_(list(cardholder_ids)))
    )
    options: dict[int, list[ContactOption]] = defaultdict(list)
    for cp_id, holder_id, channel, preferred, consent, opted_out, status, verified in rows:
        try:
            kind = Channel(channel)
        except ValueError:
            continue  # a channel this version does not send on
        options[holder_id].append(ContactOption(cp_id, kind, bool(preferred), bool(consent), bool(opted_out),
                                                status, bool(verified)))
    return options
