"""A hand-written stand-in for the compliance gate, for tests of code that only needs the gate's contract.

It allows everything, writes the outbound message row the way the gate does (so the simulator shows it) and
sends through the wired channel adapter. Tests of the gate itself use the real one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from compliance.contract import Decision, DeliveryOutcome, SendRequest
from core.clock import Clock
from core.enums import Channel, DecisionOutcome, Direction, MessageStatus
from core.ports import ChannelAdapter, OutboundText
from storage.db import transaction
from storage.tables import ContactPoint, Message


@dataclass
class AllowingGate:
    session_factory: sessionmaker[Session]
    clock: Clock
    channels: dict[Channel, ChannelAdapter]
    requests: list[SendRequest] = field(default_factory=list)
    fail_with: Exception | None = None  # raise this from deliver(), to test callers' error paths

    def deliver_many(self, requests: list[SendRequest]) -> list[DeliveryOutcome | Exception]:
        outcomes: list[DeliveryOutcome | Exception] = []
        for request in requests:
            try:
                outcomes.append(self.deliver(request))
            except Exception as exc:  # the real gate reports a request it cannot handle in place, too
                outcomes.append(exc)
        return outcomes

    def deliver(self, request: SendRequest) -> DeliveryOutcome:
        self.requests.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        decision = Decision(DecisionOutcome.ALLOW, (), (), "TEST", "0", {}, None, None)
        text = f"[{request.template_id}] " + " ".join(f"{k}={v}" for k, v in sorted(request.params.items()))
        now = self.clock.now()
        with transaction(self.session_factory) as session:
            point = self._point(session, request)
            row = Message(
                cardholder_id=request.cardholder_id, account_id=request.account_id,
                conversation_id=request.conversation_id, contact_point_id=point.id, channel=request.channel.value,
                direction=Direction.OUTBOUND.value, status=MessageStatus.SENDING.value,
                purpose=request.purpose.value, author=request.author, template_id=request.template_id,
                text=text.strip(), created_at=now,
            )
            session.add(row)
            session.flush()
            message_id, address = row.id, point.address
        result = self.channels[request.channel].send(
            OutboundText(request.channel, address, text.strip(), message_id, f"test:{message_id}")
        )
        with transaction(self.session_factory) as session:
            row = session.get_one(Message, message_id)
            row.status = MessageStatus.SENT.value if result.accepted else MessageStatus.FAILED.value
            row.provider_message_id = result.provider_message_id
            row.sent_at = now
        status = "sent" if result.accepted else "failed"
        return DeliveryOutcome(decision, message_id, None, status, result.provider_message_id)

    @staticmethod
    def _point(session: Session, request: SendRequest) -> Any:
        if request.contact_point_id is not None:
            return session.get_one(ContactPoint, request.contact_point_id)
        return session.scalars(
            select(ContactPoint).where(
                ContactPoint.cardholder_id == request.cardholder_id, ContactPoint.channel == request.channel.value
            )
        ).one()
