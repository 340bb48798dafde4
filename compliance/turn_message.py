"""One turn, one message: a turn's bot replies leave as one outbound message wherever the channel's limit allows.

The dialogue answers a turn with several templates (the plan offer: an intro, each option, the waivers, the
question). Sent one by one, each was its own SMS: billed on its own, buzzing the phone each time, and gated on its
own. Here the replies are packed into messages of several parts (SendRequest.extra_parts) that the gate decides,
records and sends as one:

  - only consecutive replies that could be one message join: the same cardholder, address, conversation,
    account, author, language and purpose (a protective state's acknowledgement, purpose state_acknowledgement,
    stays its own message), none an officer's free text or an outbox row;
  - packing is greedy and keeps the order: the next part joins while the whole message, as the gate would send
    it (sender prefix once at the start, opt-out footer once at the end), still fits the pack's limit for the
    channel (`channels.sms.max_segments`, `channels.telegram.max_chars`); a part never splits, and a part too long
    even alone goes alone (and the gate blocks it as too long, as it would have before).

The measuring is the gate's own decision on the candidate message (compliance.gate.deliver_combined), so what is
measured is exactly what would leave; this module holds the pure parts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from compliance.contract import Check, Decision, SendRequest
from compliance.sms import sms_length
from core.enums import Channel

T = TypeVar("T")

# What must be equal for two replies to be one message.
_SAME = ("cardholder_id", "channel", "purpose", "author", "account_id", "conversation_id", "contact_point_id",
         "language")


def combinable(first: SendRequest, then: SendRequest) -> bool:
    """Whether `then` may be joined into a message with `first`."""
    if any(r.free_text is not None or r.outbox_id is not None for r in (first, then)):
        return False
    return all(getattr(first, name) == getattr(then, name) for name in _SAME)


def runs(requests: Sequence[SendRequest]) -> list[list[SendRequest]]:
    """The requests cut into runs of consecutive combinable ones, in order (each run is one or more messages)."""
    out: list[list[SendRequest]] = []
    for request in requests:
        if out and combinable(out[-1][0], request):
            out[-1].append(request)
        else:
            out.append([request])
    return out


def merge(requests: Sequence[SendRequest]) -> SendRequest:
    """One request for a message made of these (combinable) requests' templates, in order."""
    first = requests[0]
    if len(requests) == 1:
        return first
    parts = [part for request in requests for part in request.parts]
    return replace(first, template_id=parts[0].template_id, params=parts[0].params, extra_parts=tuple(parts[1:]))


def greedy(items: Sequence[T], fits: Callable[[list[T]], bool]) -> Iterator[list[T]]:
    """Pack items in order into groups: the next item joins the current group while `fits(group + [item])`; an item
    never splits, and one that fits nowhere forms a group alone (`fits` is never asked about a single item).

    A generator: each group is yielded before `fits` is asked about the next group's candidates, so a caller whose
    measure depends on the messages before (the gate: caps, the first-communication disclosure) sees them."""
    current: list[T] = []
    for item in items:
        if current and not fits([*current, item]):
            yield current
            current = []
        current.append(item)
    if current:
        yield current


def within_length(decision: Decision, length_rule: str) -> bool:
    """Whether a decision's message fits the pack's length limit. A message whose text did not compose (a part
    unknown, unapproved or not for this person) has nothing to measure: it fits, and is blocked as a whole."""
    check: Check | None = next((c for c in decision.checks if c.rule == length_rule), None)
    return check is None or check.passed


def fits_channel(text: str, channel: Channel, *, max_segments: int, max_chars: int) -> bool:
    """Whether a whole text fits a channel's limit (the gate's length check, for callers measuring plain text)."""
    if channel is Channel.SMS:
        return sms_length(text).segments <= max_segments
    return len(text) <= max_chars


def parts_of(counters: dict[str, Any] | None, template_id: str | None) -> list[str]:
    """The template ids a recorded message holds, in order: its decision's parts, else its one template."""
    parts = (counters or {}).get("parts")
    if parts:
        return [str(part["template_id"]) for part in parts]
    return [template_id] if template_id else []
