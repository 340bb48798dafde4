"""Setting a state takes effect at once: the person's queued and deferred outbox rows that it blocks are
cancelled with the state as their reason, and a row the state did not reach in time (set without a pack at hand)
is cancelled by the dispatcher when it claims it, before the gate is asked."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from accord.bootstrap import Container
from compliance.protection import set_state
from core.enums import MessagePurpose
from scheduler.dispatcher import Dispatcher
from scheduler.outbox import insert_new, outbox_row
from storage.db import transaction
from storage.tables import Account, AuditEvent, Cardholder, Message, OutboxItem
from tests.compliance_builders import compliance_config
from tests.reminder_builders import build

PACKS = {p.pack.value: p for p in compliance_config().packs}


def _queue(container: Container, purposes: list[MessagePurpose]) -> tuple[int, list[int]]:
    now = container.clock.now()
    account_id = build(container, dpd=10, stage="dpd_1_29")
    with transaction(container.session_factory) as s:
        holder_id = s.get_one(Account, account_id).cardholder_id
        templates = {MessagePurpose.REMINDER: "reminder.dpd_1_29", MessagePurpose.PAYMENT_THANKS: "payment.thanks",
                     MessagePurpose.PROMISE_FOLLOW_UP: "promise.follow_up"}
        rows = [outbox_row(key=f"t:{account_id}:{i}", cardholder_id=holder_id, account_id=account_id,
                           contact_point_id=None, channel="sms", purpose=purpose, template_id=templates[purpose],
                           language="en", params={}, not_before=now, now=now) for i, purpose in enumerate(purposes)]
        insert_new(s, rows)
        s.execute(update(OutboxItem).where(OutboxItem.purpose == "promise_follow_up").values(status="deferred"))
        return holder_id, list(s.scalars(select(OutboxItem.id).order_by(OutboxItem.id)))


def test_a_state_cancels_the_waiting_rows_it_blocks_and_keeps_the_rest(container: Container) -> None:
    holder_id, ids = _queue(container, [MessagePurpose.REMINDER, MessagePurpose.PAYMENT_THANKS,
                                        MessagePurpose.PROMISE_FOLLOW_UP])
    with transaction(container.session_factory) as s:
        jurisdiction = s.get_one(Cardholder, holder_id).jurisdiction
        set_state(s, cardholder_id=holder_id, kind="payment_claimed", set_by="bot", actor="bot",
                  at=container.clock.now(), reason="says they paid", pack=PACKS[jurisdiction])
    with container.session_factory() as s:
        rows = {r.purpose: (r.status, r.last_error) for r in s.scalars(select(OutboxItem))}
        events = [e.payload for e in s.scalars(select(AuditEvent).where(AuditEvent.kind == "outbox.cancelled"))]
    assert rows == {"reminder": ("cancelled", "protective_state:payment_claimed"),
                    "payment_thanks": ("queued", None),  # the matrix allows thanks while a payment is checked
                    "promise_follow_up": ("cancelled", "protective_state:payment_claimed")}
    assert [sorted(e["outbox_ids"]) for e in events] == [sorted([ids[0], ids[2]])]


def test_the_dispatcher_cancels_a_row_a_state_now_blocks_before_asking_the_gate(container: Container) -> None:
    holder_id, ids = _queue(container, [MessagePurpose.REMINDER])
    with transaction(container.session_factory) as s:
        set_state(s, cardholder_id=holder_id, kind="attorney", set_by="officer", actor="officer:kim",
                  at=container.clock.now(), reason="letter from counsel", pack=None)  # no pack: nothing cancelled
        assert s.get_one(OutboxItem, ids[0]).status == "queued"
    container.clock.set(container.clock.now() + timedelta(seconds=1))  # type: ignore[attr-defined]
    report = Dispatcher(container, "t", sleep=lambda _s: None, unit_random=lambda: 0.5).run_batch()
    with container.session_factory() as s:
        row = s.get_one(OutboxItem, ids[0])
        assert (row.status, row.last_error) == ("cancelled", "protective_state:attorney")
        assert s.scalars(select(Message)).all() == []  # no attempt on the cardholder's record
    assert report.outcomes["cancelled"] == 1
