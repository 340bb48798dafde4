"""A stand-in for the compliance gate that answers from a script, for the dispatcher's own tests.

Like the real gate it records the outbound message (with the outcome's status) before answering, so the
dispatcher's bookkeeping and the reconciler see what they would see in production. Tests of the whole path use
the real gate.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from compliance.contract import Decision, DeliveryOutcome, SendRequest
from core.clock import Clock
from core.enums import Channel, DecisionOutcome, Direction
from storage.db import transaction
from storage.tables import Message, OutboxItem


@dataclass
class Answer:
    status: str = "sent"  # sent | deferred | blocked | failed | review
    reasons: tuple[str, ...] = ()
    defer_until: datetime | None = None
    retryable: bool = False
    error: str | None = None
    raise_error: Exception | None = None


@dataclass
class ScriptedGate:
    session_factory: sessionmaker[Session]
    clock: Clock
    script: deque[Answer] = field(default_factory=deque)
    default: Answer = field(default_factory=Answer)
    requests: list[SendRequest] = field(default_factory=list)

    def answer(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def deliver_many(self, requests: list[SendRequest],
                     pace: Callable[[Channel, int], int] | None = None) -> list[DeliveryOutcome | Exception]:
        outcomes: list[DeliveryOutcome | Exception] = []
        for request in requests:
            try:
                outcome = self.deliver(request)
                if pace is not None and outcome.status == "sent":  # it would have reached the provider
                    pace(request.channel, 1)
                outcomes.append(outcome)
            except Exception as exc:  # the real gate reports a request it cannot decide in place, too
                outcomes.append(exc)
        return outcomes

    def deliver(self, request: SendRequest) -> DeliveryOutcome:
        self.requests.append(request)
        answer = self.script.popleft() if self.script else self.default
        if answer.raise_error is not None:
            raise answer.raise_error
        outcome = {"sent": DecisionOutcome.ALLOW, "deferred": DecisionOutcome.DEFER}.get(answer.status,
                                                                                        DecisionOutcome.BLOCK)
        decision = Decision(outcome, answer.reasons, (), "TEST", "0", {}, None, None, answer.defer_until)
        now = self.clock.now()
        with transaction(self.session_factory) as session:
            message = Message(cardholder_id=request.cardholder_id, account_id=request.account_id,
                              contact_point_id=request.contact_point_id, channel=request.channel.value,
                              direction=Direction.OUTBOUND.value, status=answer.status, purpose=request.purpose.value,
                              author=request.author, template_id=request.template_id, text="scripted",
                              created_at=now, sent_at=now if answer.status == "sent" else None,
                              provider_message_id=f"SBX-{len(self.requests)}-{now.timestamp()}"
                              if answer.status == "sent" else None)
            session.add(message)
            session.flush()
            message_id = message.id
            if request.outbox_id is not None:  # linked in the same transaction, as the real gate does
                session.execute(update(OutboxItem).where(OutboxItem.id == request.outbox_id)
                                .values(message_id=message_id))
        return DeliveryOutcome(decision, message_id, None, answer.status, error=answer.error,
                               retryable=answer.retryable)
