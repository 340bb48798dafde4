"""Everything the gate's checks look at, read from the database into plain values.

The checks themselves (compliance/checks.py) are pure functions of these facts, the pack and the clock, so
`evaluate` (dry run) and `deliver` decide with exactly the same code. The values are in compliance/fact_types.py
and the statements that read them in compliance/fact_reads.py; this module puts a request's facts together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from compliance.contract import SendRequest
from compliance.fact_reads import (
    ACKNOWLEDGEMENTS,
    CONFIRMATIONS,
    HOLDER_COLUMNS,
    HOLDERS,
    LEDGERS,
    Wanted,
    best_point,
    count_since,
    holder_facts,
    last_inbound,
    ledger_facts,
    read_wanted,
)
from compliance.fact_types import (
    WENT_OUT,
    AccountFacts,
    ConversationFacts,
    Facts,
    HolderFacts,
    LedgerFacts,
    PointFacts,
    UnknownCardholder,
)
from compliance.protection import StateFact, active_facts
from core.enums import MessagePurpose
from core.protection import ProtectiveKind

# The states after which only the pack's acknowledgement of the request may go out, and only so many times.
_CEASING = (ProtectiveKind.CEASE, ProtectiveKind.STOP_ALL_CONTACT)

__all__ = ["HOLDER_COLUMNS", "WENT_OUT", "AccountFacts", "ConversationFacts", "Facts", "FactsQuery", "HolderFacts",
           "LedgerFacts", "PointFacts", "UnknownCardholder", "after_earlier", "holder_facts", "ledger_facts",
           "load_facts", "load_facts_many", "load_holder", "load_holders"]


def load_holder(session: Session, cardholder_id: int) -> HolderFacts:
    holder = load_holders(session, [cardholder_id]).get(cardholder_id)
    if holder is None:
        raise UnknownCardholder(f"no cardholder with id {cardholder_id}")
    return holder


def load_holders(session: Session, ids: Iterable[int]) -> dict[int, HolderFacts]:
    """Cardholders by id; an unknown id is simply absent."""
    rows = session.execute(HOLDERS, {"ids": sorted(set(ids))}).all()
    return {row[0]: holder_facts(row) for row in rows}


@dataclass(frozen=True, slots=True)
class FactsQuery:
    """What to read for one request: its cardholder (already loaded), how far back the caps look, the ledger
    row the caller locked (None: read it), and whether the purpose can be a reply (needs the last inbound)."""

    request: SendRequest
    holder: HolderFacts
    window_hours: int
    ledger: LedgerFacts | None = None
    replies: bool = True


def load_facts(session: Session, request: SendRequest, holder: HolderFacts, now: datetime,
               longest_window_hours: int, *, ledger: LedgerFacts | None = None, replies: bool = True) -> Facts:
    return load_facts_many(session, [FactsQuery(request, holder, longest_window_hours, ledger, replies)], now)[0]


def load_facts_many(session: Session, queries: Sequence[FactsQuery], now: datetime) -> list[Facts]:
    """Facts for a batch of requests, read with one statement per kind of fact (points, conversations, accounts,
    counted sends, ledgers); the rarer reads (a best address, a last inbound, confirmations since an opt-out)
    are made per request, only where needed."""
    requests = [q.request for q in queries]
    since = {q.holder.id: now - timedelta(hours=q.window_hours) for q in queries}
    wanted = Wanted({r.contact_point_id for r in requests if r.contact_point_id is not None},
                    {r.conversation_id for r in requests if r.conversation_id},
                    {r.account_id for r in requests if r.account_id is not None}, since)
    points, conversations, accounts, counted = read_wanted(session, wanted)
    states = active_facts(session, since, now)
    unlocked = {q.holder.id for q in queries if q.ledger is None}
    ledgers = {row[0]: ledger_facts(row[1:]) for row in session.execute(LEDGERS, {"ids": sorted(unlocked)})
               } if unlocked else {}
    facts = []
    for query in queries:
        request, holder = query.request, query.holder
        if request.contact_point_id is not None:
            point = points.get(request.contact_point_id)
        else:
            point = best_point(session, request)
        conversation = conversations.get(request.conversation_id) if request.conversation_id else None
        ledger = query.ledger if query.ledger is not None else ledgers.get(holder.id)
        opted_out_at = point.opted_out_at if point else None
        held = states.get(holder.id, ())
        cease_since = _cease_since(held)
        facts.append(Facts(
            now=now,
            holder=holder,
            point=point,
            conversation=conversation,
            account=accounts.get(request.account_id) if request.account_id is not None else None,
            counted_sends=tuple(sorted(counted.get(holder.id, ()))),
            last_inbound_at=last_inbound(session, conversation, point) if query.replies else None,
            opt_out_confirmations=count_since(session, CONFIRMATIONS, point.id if point else None, opted_out_at,
                                              MessagePurpose.OPT_OUT_CONFIRMATION),
            cease_acknowledgements=count_since(session, ACKNOWLEDGEMENTS, holder.id, cease_since,
                                               MessagePurpose.CEASE_ACKNOWLEDGEMENT),
            first_disclosure_at=ledger.first_disclosure_at if ledger else None,
            contacts_total=ledger.contacts_total if ledger else 0,
            last_contact_at=ledger.last_contact_at if ledger else None,
            states=held,
            cease_since=cease_since,
        ))
    return facts


def _cease_since(states: tuple[StateFact, ...]) -> datetime | None:
    times = [state.set_at for state in states if state.kind in _CEASING]
    return min(times) if times else None


def after_earlier(facts: Facts, earlier: Sequence[tuple[SendRequest, Any]]) -> Facts:
    """`facts` as the database will show them once the earlier decisions in the same batch for this cardholder
    are recorded (`earlier`: their requests and evaluations, in order). Only allowed ones change anything: they
    count toward the caps, the contact ledger and the "only once" messages, exactly as their rows will."""
    for previous, evaluation in earlier:
        if not evaluation.decision.allowed:
            continue
        point = evaluation.facts.point if evaluation.facts else None
        changes: dict[str, Any] = {"contacts_total": facts.contacts_total + 1, "last_contact_at": facts.now}
        if evaluation.counted:
            changes["counted_sends"] = (*facts.counted_sends, facts.now)
        if evaluation.first_disclosure:
            changes["first_disclosure_at"] = facts.now
        if (previous.purpose is MessagePurpose.OPT_OUT_CONFIRMATION and facts.point is not None
                and facts.point.opted_out_at is not None and point is not None and point.id == facts.point.id):
            changes["opt_out_confirmations"] = facts.opt_out_confirmations + 1
        if previous.purpose is MessagePurpose.CEASE_ACKNOWLEDGEMENT and facts.cease_since is not None:
            changes["cease_acknowledgements"] = facts.cease_acknowledgements + 1
        facts = replace(facts, **changes)
    return facts
