"""Bot and officer replies left in `sending` (the process died between the provider's answer and recording it)
are settled by the reconciler like outbox rows, on SQLite and PostgreSQL: never resent, asked of the provider
where Accord knows the provider's id, otherwise flagged for review with an audit event."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from accord.bootstrap import Container
from compliance import audit
from core.clock import FixedClock
from scheduler.reconcile import Reconciler
from scheduler.runtime import scheduler_config
from storage.db import transaction
from storage.tables import Account, AuditEvent, Message
from tests.reminder_builders import build


def _left_sending(container: Container, author: str, provider_id: str | None = None) -> int:
    """A reply as the gate leaves it when it never got to record the provider's answer."""
    account_id = build(container, dpd=10, stage="dpd_1_29")
    with transaction(container.session_factory) as session:
        holder_id = session.get_one(Account, account_id).cardholder_id
        message = Message(cardholder_id=holder_id, account_id=account_id, channel="sms", direction="outbound",
                          status="sending", purpose="bot_reply", author=author, template_id="dialogue.greet",
                          text="Hello.", provider_message_id=provider_id, created_at=container.clock.now())
        session.add(message)
        session.flush()
        return message.id


def _message(container: Container, message_id: int) -> Message:
    with container.session_factory() as session:
        return session.get_one(Message, message_id)


@pytest.mark.parametrize("author", ["bot", "officer:li.na"])
def test_a_reply_left_sending_is_flagged_for_review_after_the_lease(container: Container, clock: FixedClock,
                                                                   author: str) -> None:
    message_id = _left_sending(container, author)
    reconciler = Reconciler(container, scheduler_config(container))
    assert reconciler.reconcile_stale() == {}  # within the lease: the gate may still be recording it
    assert _message(container, message_id).status == "sending"
    clock.advance(timedelta(minutes=6))
    assert reconciler.reconcile_stale() == {"reply_review": 1}
    settled = _message(container, message_id)
    assert (settled.status, settled.error_code) == ("review", "unknown_outcome")
    with container.session_factory() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.kind == "message.review")).one()
        assert (event.subject_id, event.actor, event.payload["author"]) == (str(message_id), "reconciler", author)
        assert audit.verify(session).ok
    assert reconciler.reconcile_stale() == {}  # settled once: a second pass finds nothing
    with container.session_factory() as session:  # and nothing was sent again
        assert session.scalar(select(Message.id).where(Message.id != message_id)) is None


def test_a_reply_the_provider_knows_is_marked_sent(container: Container, clock: FixedClock) -> None:
    message_id = _left_sending(container, "bot", provider_id="SBX-5d1f6a52-7f38-4a4b-9d2e-0c7b3f1e2a90")
    clock.advance(timedelta(minutes=6))
    assert Reconciler(container, scheduler_config(container)).reconcile_stale() == {"reply_sent": 1}
    assert _message(container, message_id).status == "sent"


def test_the_dispatchers_own_messages_are_left_to_the_outbox_reconciler(container: Container,
                                                                        clock: FixedClock) -> None:
    message_id = _left_sending(container, "scheduler")
    clock.advance(timedelta(minutes=6))
    assert Reconciler(container, scheduler_config(container)).reconcile_stale() == {}
    assert _message(container, message_id).status == "sending"
