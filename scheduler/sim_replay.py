"""Cardholders' messages fed into the real inbound pipeline during `accord simulate --inbound FILE`.

Each message goes in at its own time (the simulation clock is set to it), from the cardholder's registered
address, through the container's one inbound pipeline: persisted, keywords, the dialogue engine, every reply
through the compliance gate to the sandbox channel. A recorder around the gate, active only while a message is
handled, notes what the bot answered (sent, or blocked and why); escalations and protective states created
while it was handled are read back. The summary counts them; with --examples each conversation gets a timeline,
followed by what became of that cardholder's reminders afterwards.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from accord.bootstrap import Container
from bot.inbound import InboundMessage, InboundResult, pipeline_for
from compliance.contract import DeliveryOutcome, SendRequest
from core.clock import FixedClock
from core.enums import Direction
from core.send_window import zone
from scheduler.sim_inbound import ScriptedInbound
from storage.tables import Account, Cardholder, ComplianceDecision, Escalation, Message, ProtectiveState

_REMINDER_AUTHOR = "scheduler"  # scheduler.claim.DISPATCHER_AUTHOR: reminders and follow-ups


class ReplyRecorder:
    """Wraps the container's gate; while `recording`, remembers each request it decided and the outcome. The
    pipeline and the internal API's confirmations both reach the gate through the container, so both are seen."""

    def __init__(self, gate: Any) -> None:
        self.gate = gate
        self.recording = False
        self.seen: list[tuple[SendRequest, DeliveryOutcome]] = []

    def deliver(self, request: SendRequest) -> DeliveryOutcome:
        outcome: DeliveryOutcome = self.gate.deliver(request)
        if self.recording:
            self.seen.append((request, outcome))
        return outcome

    def deliver_many(self, requests: list[SendRequest], pace: Any = None) -> list[DeliveryOutcome | Exception]:
        outcomes: list[DeliveryOutcome | Exception] = (self.gate.deliver_many(requests) if pace is None
                                                       else self.gate.deliver_many(requests, pace))
        if self.recording:
            self.seen += [(r, o) for r, o in zip(requests, outcomes, strict=True) if not isinstance(o, Exception)]
        return outcomes

    def __getattr__(self, name: str) -> Any:
        return getattr(self.gate, name)


@dataclass
class InboundTally:
    replayed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # the pipeline's outcome per message
    replies: Counter[str] = field(default_factory=Counter)  # sent | blocked | deferred ...
    reply_reasons: Counter[tuple[str, str]] = field(default_factory=Counter)  # (reason, blocked|deferred)
    escalations: Counter[str] = field(default_factory=Counter)  # by reason
    protective_states: Counter[tuple[str, str]] = field(default_factory=Counter)  # (kind, status)

    def as_dict(self) -> dict[str, Any]:
        def nest(counter: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
            out: dict[str, dict[str, int]] = {}
            for (key, status), count in sorted(counter.items()):
                out.setdefault(key, {})[status] = count
            return out

        return {"replayed": self.replayed, "outcomes": dict(sorted(self.outcomes.items())),
                "bot_replies": dict(sorted(self.replies.items())), "reply_reasons": nest(self.reply_reasons),
                "escalations": dict(sorted(self.escalations.items())),
                "protective_states": nest(self.protective_states)}


class InboundReplay:
    """Feeds the scripted messages in; `feed(clock, until)` replays every message due at or before `until`."""

    def __init__(self, container: Container, messages: list[ScriptedInbound]) -> None:
        if "inbound" in container.extras:
            raise RuntimeError("the inbound pipeline was built before the replay could watch its gate")
        self.container = container
        self.messages = sorted(messages, key=lambda m: (m.at, m.line))
        self.tally = InboundTally()
        self.turns: dict[Any, list[dict[str, Any]]] = {}  # conversation (or cardholder) -> its turns
        self._threads: dict[Any, tuple[int, datetime]] = {}  # conversation -> (cardholder, first message time)
        self._next = 0
        self._run = secrets.token_hex(4)  # provider ids unique to this run, so a reused copy sees no duplicates
        self.recorder = ReplyRecorder(container.extras["gate"])
        container.extras["gate"] = self.recorder
        self.pipeline = pipeline_for(container)

    def feed(self, clock: FixedClock, until: datetime) -> int:
        fed = 0
        while self._next < len(self.messages) and self.messages[self._next].at <= until:
            message = self.messages[self._next]
            self._next += 1
            clock.set(message.at)
            self._replay(message)
            fed += 1
        return fed

    def _replay(self, message: ScriptedInbound) -> None:
        escalations_before, states_before = self._high_water()
        self.recorder.seen, self.recorder.recording = [], True
        try:
            result = self.pipeline.receive(InboundMessage(
                channel=message.channel, address=message.address, text=message.text, received_at=message.at,
                provider_message_id=f"sim-{self._run}-{message.line}"))
        finally:
            self.recorder.recording = False
        replies = list(self.recorder.seen)
        escalations, states = self._created_since(escalations_before, states_before, message.cardholder_id)
        self._count(result, replies, escalations, states)
        key = result.conversation_id or ("cardholder", message.cardholder_id)
        self._threads.setdefault(key, (message.cardholder_id, message.at))
        self.turns.setdefault(key, []).append({
            "time": message.at, "channel": message.channel.value, "wrote": message.text,
            "outcome": result.outcome.value,
            "replies": [_reply(request, outcome) for request, outcome in replies],
            "escalations": escalations, "protective_states": [f"{kind} ({status})" for kind, status in states],
        })

    def _count(self, result: InboundResult, replies: list[tuple[SendRequest, DeliveryOutcome]],
               escalations: list[str], states: list[tuple[str, str]]) -> None:
        tally = self.tally
        tally.replayed += 1
        tally.outcomes[result.outcome.value] += 1
        for _request, outcome in replies:
            tally.replies[outcome.status] += 1
            if outcome.status in ("blocked", "deferred"):
                for reason in outcome.decision.reasons or ("unspecified",):
                    tally.reply_reasons[(reason, outcome.status)] += 1
        tally.escalations.update(escalations)
        tally.protective_states.update(states)

    def _high_water(self) -> tuple[int, int]:
        with self.container.session_factory() as session:
            return (session.scalar(select(func.max(Escalation.id))) or 0,
                    session.scalar(select(func.max(ProtectiveState.id))) or 0)

    def _created_since(self, escalation_id: int, state_id: int,
                       cardholder_id: int) -> tuple[list[str], list[tuple[str, str]]]:
        with self.container.session_factory() as session:
            escalations = list(session.scalars(select(Escalation.reason).where(
                Escalation.id > escalation_id, Escalation.cardholder_id == cardholder_id).order_by(Escalation.id)))
            states = [(kind, status) for kind, status in session.execute(
                select(ProtectiveState.kind, ProtectiveState.status).where(
                    ProtectiveState.id > state_id, ProtectiveState.cardholder_id == cardholder_id)
                .order_by(ProtectiveState.id))]
        return escalations, states

    def timelines(self, end: datetime, *, limit: int = 40) -> list[dict[str, Any]]:
        """Each replayed conversation: its turns in the cardholder's local time, then that cardholder's reminders
        from the first message to the end of the period (repeats folded), so what stopped is visible."""
        out = []
        with self.container.session_factory() as session:
            for key, turns in self.turns.items():
                cardholder_id, first = self._threads[key]
                holder = session.get_one(Cardholder, cardholder_id)
                tz = zone(holder.timezone)

                def local(at: datetime, tz: Any = tz) -> str:
                    return (at.astimezone(tz) if tz else at).isoformat(timespec="minutes")

                account = session.scalar(select(Account.external_id).where(Account.cardholder_id == cardholder_id)
                                         .order_by(Account.days_past_due.desc(), Account.id).limit(1))
                texts = _texts(session, [r["message_id"] for t in turns for r in t["replies"] if r["message_id"]])
                out.append({
                    "account": account or holder.external_id, "language": holder.language,
                    "timezone": holder.timezone, "conversation_id": key if isinstance(key, int) else None,
                    "turns": [{**turn, "time": local(turn["time"]),
                               "replies": [{**r, "text": texts.get(r["message_id"])} for r in turn["replies"]]}
                              for turn in turns],
                    "reminders_after": [{**line, "from": local(line["from"]), "to": local(line["to"])}
                                        for line in _reminders(session, cardholder_id, first, end)][:limit],
                })
        return out


def _reply(request: SendRequest, outcome: DeliveryOutcome) -> dict[str, Any]:
    return {"template_id": request.template_id, "purpose": request.purpose.value, "status": outcome.status,
            "reasons": list(outcome.decision.reasons or ()), "message_id": outcome.message_id}


def _texts(session: Any, message_ids: list[int]) -> dict[int, str]:
    if not message_ids:
        return {}
    rows = session.execute(select(Message.id, Message.text).where(Message.id.in_(message_ids)))
    return {message_id: text for message_id, text in rows}


def _reminders(session: Any, cardholder_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The scheduler's messages to the cardholder in [start, end], consecutive repeats of the same template,
    channel, outcome and reasons folded into one line with a count."""
    rows = session.execute(
        select(Message.created_at, Message.channel, Message.template_id, Message.status, ComplianceDecision.reasons)
        .outerjoin(ComplianceDecision, ComplianceDecision.id == Message.decision_id)
        .where(Message.cardholder_id == cardholder_id, Message.direction == Direction.OUTBOUND.value,
               Message.author == _REMINDER_AUTHOR, Message.created_at.between(start, end))
        .order_by(Message.created_at, Message.id)).all()
    lines: list[dict[str, Any]] = []
    for at, channel, template_id, status, reasons in rows:
        what = {"channel": channel, "template_id": template_id, "status": status, "reasons": list(reasons or [])}
        if lines and all(lines[-1][k] == v for k, v in what.items()):
            lines[-1]["to"] = at
            lines[-1]["count"] += 1
        else:
            lines.append({**what, "from": at, "to": at, "count": 1})
    return lines
