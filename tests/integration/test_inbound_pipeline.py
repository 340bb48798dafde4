"""The inbound pipeline on real databases: persist first, keywords, officer hold, dialogue, and the fallbacks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from accord.bootstrap import Container, bootstrap
from accord.settings import Settings
from bot.inbound import (
    InboundMessage,
    InboundOutcome,
    InboundPipeline,
    InboundRejected,
    InboundResult,
    pipeline_for,
)
from core.clock import FixedClock
from core.enums import Channel, EscalationReason, MessagePurpose
from core.ports import DialogueReply
from storage.db import transaction
from storage.tables import AuditEvent, ContactPoint, Conversation, Escalation, Message
from tests import builders
from tests.fakes.dialogue import ScriptedDialogue
from tests.fakes.gate import AllowingGate


@pytest.fixture
def dialogue() -> ScriptedDialogue:
    return ScriptedDialogue(replies=[DialogueReply("bot.greeting", {"name_hint": "A"})])


@pytest.fixture
def app(settings: Settings, clock: FixedClock, dialogue: ScriptedDialogue) -> Iterator[Container]:
    container = bootstrap(settings, clock=clock, dialogue=dialogue)
    container.extras["gate"] = AllowingGate(container.session_factory, clock, container.extras["channels"])
    with transaction(container.session_factory) as session:
        builders.cardholder(session, clock.now())
    try:
        yield container
    finally:
        container.close()


def sms(clock: FixedClock, text: str, pid: str | None = None, address: str = "+12125550123") -> InboundMessage:
    return InboundMessage(Channel.SMS, address, text, clock.now(), pid)


def gate(app: Container) -> AllowingGate:
    return app.extras["gate"]  # type: ignore[no-any-return]


def count(app: Container, model: type, *where: object) -> int:
    with app.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_reply_goes_through_the_gate_as_a_bot_reply(app: Container, clock: FixedClock,
                                                       dialogue: ScriptedDialogue) -> None:
    result = pipeline_for(app).receive(sms(clock, "hello, can I pay next week?", "SM1"))

    assert result.outcome is InboundOutcome.REPLIED
    [request] = gate(app).requests
    assert request.purpose is MessagePurpose.BOT_REPLY
    assert request.template_id == "bot.greeting" and request.params == {"name_hint": "A"}
    assert request.conversation_id == result.conversation_id and request.author == "bot"
    assert result.replies[0].status == "sent"
    [turn] = dialogue.turns
    assert turn.text == "hello, can I pay next week?" and turn.language == "en"
    assert turn.conversation_id == result.conversation_id
    with app.session_factory() as session:
        conversation = session.get_one(Conversation, result.conversation_id)
        assert conversation.cardholder_started and conversation.state == "bot"
        inbound = session.get_one(Message, result.message_id)
        assert (inbound.status, inbound.author, inbound.direction) == ("received", "cardholder", "inbound")
        assert inbound.provider_message_id == "SM1"


def test_the_message_is_committed_before_the_dialogue_engine_runs(app: Container, clock: FixedClock,
                                                                  dialogue: ScriptedDialogue) -> None:
    seen: list[int] = []

    def look(_turn: object) -> None:
        with app.session_factory() as other:  # a separate connection sees only committed rows
            seen.append(other.scalar(select(func.count()).select_from(Message)) or 0)

    dialogue.on_turn = look
    pipeline_for(app).receive(sms(clock, "hi"))
    assert seen == [1]


def test_a_duplicate_delivery_is_answered_from_the_stored_row(app: Container, clock: FixedClock) -> None:
    pipeline = pipeline_for(app)
    first = pipeline.receive(sms(clock, "hello", "SM-dup"))
    again = pipeline.receive(sms(clock, "hello", "SM-dup"))

    assert again.duplicate and again.outcome is InboundOutcome.DUPLICATE
    assert again.message_id == first.message_id and again.conversation_id == first.conversation_id
    assert len(gate(app).requests) == 1
    assert count(app, Message, Message.direction == "inbound") == 1


def test_an_inbound_id_already_used_by_an_outbound_message_is_kept_and_still_deduplicated(
        app: Container, clock: FixedClock) -> None:
    pipeline = pipeline_for(app)
    first = pipeline.receive(sms(clock, "hello", "SM-first"))
    with app.session_factory() as session:  # the reply the gate recorded for it
        taken = session.scalars(select(Message.provider_message_id).where(Message.direction == "outbound")).one()
    assert taken is not None

    kept = pipeline.receive(sms(clock, "can I pay on Friday?", taken))
    again = pipeline.receive(sms(clock, "can I pay on Friday?", taken))

    assert not kept.duplicate and kept.outcome is InboundOutcome.REPLIED and kept.message_id != first.message_id
    assert again.duplicate and again.message_id == kept.message_id
    with app.session_factory() as session:
        row = session.get_one(Message, kept.message_id)
        assert row.text == "can I pay on Friday?" and row.provider_message_id == f"{taken}#in"


def test_an_unknown_sender_is_kept_with_their_address_and_nothing_is_sent(app: Container,
                                                                         clock: FixedClock) -> None:
    result = pipeline_for(app).receive(sms(clock, "who is this?", "SM-u", address="+12125559999"))

    assert result.outcome is InboundOutcome.UNKNOWN_SENDER and result.cardholder_id is None
    assert gate(app).requests == []
    with app.session_factory() as session:
        row = session.get_one(Message, result.message_id)
        assert row.cardholder_id is None and row.conversation_id is None
        assert row.from_address == "+12125559999" and row.text == "who is this?"


@pytest.mark.parametrize("word", ["STOP", "stop", " Stop. ", "UNSUBSCRIBE", "退订", "td", "ＳＴＯＰ", "opt out"])
def test_opt_out_keywords_record_once_and_confirm_once(app: Container, clock: FixedClock, word: str,
                                                       dialogue: ScriptedDialogue) -> None:
    pipeline = pipeline_for(app)
    first = pipeline.receive(sms(clock, word))
    second = pipeline.receive(sms(clock, "STOP"))

    assert first.outcome is second.outcome is InboundOutcome.OPTED_OUT
    [confirmation] = gate(app).requests
    assert confirmation.purpose is MessagePurpose.OPT_OUT_CONFIRMATION
    assert confirmation.template_id == "opt_out.confirmation"
    assert second.replies == ()
    assert dialogue.turns == []  # keywords never reach the dialogue engine
    with app.session_factory() as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.channel == "sms")).one()
        assert point.opted_out_at == clock.now() and point.opted_out_method == "keyword"
        telegram = session.scalars(select(ContactPoint).where(ContactPoint.channel == "telegram")).one()
        assert telegram.opted_out_at is None  # STOP on SMS bars SMS, not every channel
        # One opt-out and its protective state (the channel's history), once however many times STOP came.
        event, state = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert event.kind == "consent.opted_out" and event.subject_id == str(point.id)
        assert event.payload["source_message_id"] == first.message_id
        assert state.kind == "protection.set" and state.payload["kind"] == "channel_opt_out"
        assert state.payload["contact_point_id"] == point.id
        assert state.payload["evidence"]["message_id"] == first.message_id


def test_start_after_stop_resubscribes_with_one_confirmation(app: Container, clock: FixedClock) -> None:
    pipeline = pipeline_for(app)
    pipeline.receive(sms(clock, "STOP"))
    result = pipeline.receive(sms(clock, "start"))
    repeat = pipeline.receive(sms(clock, "START"))

    assert result.outcome is InboundOutcome.RESUBSCRIBED and repeat.replies == ()
    purposes = [r.purpose for r in gate(app).requests]
    assert purposes == [MessagePurpose.OPT_OUT_CONFIRMATION, MessagePurpose.RESUBSCRIBE_CONFIRMATION]
    assert gate(app).requests[-1].template_id == "resubscribe.confirmation"
    with app.session_factory() as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.channel == "sms")).one()
        assert point.opted_out_at is None
        kinds = [e.kind for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
        assert kinds == ["consent.opted_out", "protection.set", "consent.resubscribed", "protection.lifted"]


def test_help_gets_the_help_text(app: Container, clock: FixedClock, dialogue: ScriptedDialogue) -> None:
    result = pipeline_for(app).receive(sms(clock, "help"))
    assert result.outcome is InboundOutcome.HELP
    [request] = gate(app).requests
    assert (request.purpose, request.template_id) == (MessagePurpose.HELP, "help.info")
    assert dialogue.turns == []


def test_a_sentence_containing_stop_is_not_a_keyword(app: Container, clock: FixedClock,
                                                     dialogue: ScriptedDialogue) -> None:
    result = pipeline_for(app).receive(sms(clock, "please stop texting me"))
    assert result.outcome is InboundOutcome.REPLIED and len(dialogue.turns) == 1


def _held_by_an_officer(app: Container, clock: FixedClock) -> InboundResult:
    """A conversation opened by a first message, then taken over by an officer; the clock a minute on."""
    first = pipeline_for(app).receive(sms(clock, "hi"))
    with transaction(app.session_factory) as session:
        conversation = session.get_one(Conversation, first.conversation_id)
        conversation.state, conversation.held_by = "officer", "officer:li"
    clock.advance(timedelta(minutes=1))
    return first


def test_an_officer_held_conversation_gets_no_bot_reply(app: Container, clock: FixedClock,
                                                        dialogue: ScriptedDialogue) -> None:
    pipeline = pipeline_for(app)
    first = _held_by_an_officer(app, clock)
    result = pipeline.receive(sms(clock, "are you there?"))

    assert result.outcome is InboundOutcome.OFFICER_QUEUE
    assert result.conversation_id == first.conversation_id
    assert len(gate(app).requests) == 1 and len(dialogue.turns) == 1
    with app.session_factory() as session:
        assert session.get_one(Conversation, first.conversation_id).last_message_at == clock.now()


def test_a_stop_in_an_officer_held_conversation_still_opts_out(app: Container, clock: FixedClock) -> None:
    pipeline = pipeline_for(app)
    first = pipeline.receive(sms(clock, "hi"))
    with transaction(app.session_factory) as session:
        session.get_one(Conversation, first.conversation_id).state = "officer"
    assert pipeline.receive(sms(clock, "STOP")).outcome is InboundOutcome.OPTED_OUT


@pytest.mark.parametrize("failure", ["down", "bug"])
def test_engine_down_gives_one_holding_reply_and_an_escalation(app: Container, clock: FixedClock,
                                                                dialogue: ScriptedDialogue, failure: str) -> None:
    if failure == "down":
        dialogue.up = False
    else:
        dialogue.error = KeyError("intent")
    pipeline = pipeline_for(app)
    first = pipeline.receive(sms(clock, "I lost my job"))
    second = pipeline.receive(sms(clock, "hello?"))

    assert first.outcome is second.outcome is InboundOutcome.HANDED_TO_OFFICER
    assert first.escalation_id is not None and second.escalation_id == first.escalation_id
    [holding] = gate(app).requests
    assert holding.template_id == "holding.reply" and holding.purpose is MessagePurpose.BOT_REPLY
    with app.session_factory() as session:
        [escalation] = session.scalars(select(Escalation)).all()
        assert escalation.reason == EscalationReason.DIALOGUE_UNAVAILABLE.value
        assert escalation.status == "open" and escalation.conversation_id == first.conversation_id
        assert escalation.detail["message_id"] == first.message_id
        assert escalation.account_id is not None
    assert count(app, Message, Message.direction == "inbound") == 2  # nothing lost


def test_no_engine_wired_means_officers_answer(settings: Settings, clock: FixedClock) -> None:
    container = bootstrap(settings, clock=clock)
    container.extras["gate"] = AllowingGate(container.session_factory, clock, container.extras["channels"])
    with transaction(container.session_factory) as session:
        builders.cardholder(session, clock.now())
    try:
        result = pipeline_for(container).receive(sms(clock, "hi"))
        assert result.outcome is InboundOutcome.HANDED_TO_OFFICER
    finally:
        container.close()


def test_a_gate_error_on_a_reply_hands_the_conversation_to_an_officer(app: Container, clock: FixedClock) -> None:
    gate(app).fail_with = RuntimeError("template catalog unreadable")
    result = pipeline_for(app).receive(sms(clock, "hi"))

    assert result.outcome is InboundOutcome.HANDED_TO_OFFICER and result.replies == ()
    with app.session_factory() as session:
        [escalation] = session.scalars(select(Escalation)).all()
        assert escalation.reason == EscalationReason.FALLBACK.value
    assert count(app, Message, Message.direction == "inbound") == 1


def test_a_message_into_an_open_conversation_takes_one_read_and_one_write(app: Container, clock: FixedClock) -> None:
    """PostgreSQL: one read and one single-statement write, each committed on its own, so no BEGIN or COMMIT
    round trips, and no flush awaited. SQLite has no data-modifying WITH: the conversation's move and the insert
    share a transaction."""
    from sqlalchemy import event

    postgres = app.engine.dialect.name == "postgresql"
    pipeline = pipeline_for(app)
    pipeline.receive(sms(clock, "hello", "first"))  # opens the conversation, in a transaction
    seen: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        driver = conn.connection.driver_connection
        seen.append((statement.split()[0], driver.autocommit if postgres else driver.in_transaction))

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        clock.advance(timedelta(minutes=1))
        stored = pipeline._recorder.persist(sms(clock, "me again", "second"))
    finally:
        event.remove(app.engine, "before_cursor_execute", record)
    assert seen == ([("SELECT", True), ("WITH", True)] if postgres
                    else [("SELECT", False), ("UPDATE", False), ("INSERT", True)])
    assert stored.awaits_flush is postgres
    with app.session_factory() as session:
        assert session.get_one(Message, stored.message_id).text == "me again"
        assert session.get_one(Conversation, stored.conversation_id).last_message_at == clock.now()


@contextmanager
def _wal_positions_after_inbound_writes(app: Container) -> Iterator[list[str]]:
    """Records, after each single-statement inbound write (committed when the statement returns), the WAL insert
    position read on another connection: at or past that write's commit record."""
    from sqlalchemy import event

    positions: list[str] = []

    def after(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        if "INSERT INTO messages" in statement and "set_config" in statement:
            with app.engine.connect() as other:
                positions.append(other.scalar(text("SELECT CAST(pg_current_wal_insert_lsn() AS text)")))

    event.listen(app.engine, "after_cursor_execute", after)
    try:
        yield positions
    finally:
        event.remove(app.engine, "after_cursor_execute", after)


def _flushed_past(app: Container, position: str) -> bool:
    with app.engine.connect() as conn:
        return bool(conn.scalar(text("SELECT pg_current_wal_flush_lsn() >= CAST(:lsn AS pg_lsn)"), {"lsn": position}))


def test_a_message_committed_without_the_wal_flush_is_on_disk_before_receive_returns(
        app: Container, clock: FixedClock, dialogue: ScriptedDialogue) -> None:
    """PostgreSQL: the common write does not wait for the WAL flush, but receive returns (and a webhook
    acknowledges the message) only once the flush has passed it, even when nothing else is written after it: here
    an officer holds the conversation, so no reply is decided. The connections keep synchronous commits for
    everything else. SQLite commits the message in its transaction as before."""
    pipeline = pipeline_for(app)
    _held_by_an_officer(app, clock)
    postgres = app.engine.dialect.name == "postgresql"
    with _wal_positions_after_inbound_writes(app) as positions:
        result = pipeline.receive(sms(clock, "hello?", "held-1"))

    assert result.outcome is InboundOutcome.OFFICER_QUEUE and len(dialogue.turns) == 1
    if postgres:
        assert len(positions) == 1 and _flushed_past(app, positions[0])
        with app.engine.connect() as conn:
            assert conn.scalar(text("SHOW synchronous_commit")) == "on"
    with app.session_factory() as session:
        assert [m.text for m in session.scalars(select(Message).where(Message.direction == "inbound")
                                                .order_by(Message.id))] == ["hi", "hello?"]


def test_a_replied_message_is_on_disk_through_the_decision_commit_with_no_write_of_its_own(
        app: Container, clock: FixedClock, dialogue: ScriptedDialogue) -> None:
    """PostgreSQL: when the turn decides a reply, that decision's synchronous commit has flushed the WAL past the
    message, so the pipeline writes nothing more for it after the reply."""
    from sqlalchemy import event

    pipeline = pipeline_for(app)
    pipeline.receive(sms(clock, "hello", "first"))  # opens the conversation, in a transaction
    clock.advance(timedelta(minutes=1))
    postgres = app.engine.dialect.name == "postgresql"
    rewrites: list[str] = []

    def record(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        if statement.replace(" ", "").startswith("UPDATEmessagesSETstatus=messages.status"):
            rewrites.append(statement)

    event.listen(app.engine, "before_cursor_execute", record)
    try:
        with _wal_positions_after_inbound_writes(app) as positions:
            result = pipeline.receive(sms(clock, "can I pay later?", "second"))
    finally:
        event.remove(app.engine, "before_cursor_execute", record)

    assert result.outcome is InboundOutcome.REPLIED and result.replies
    assert rewrites == []
    if postgres:
        assert len(positions) == 1 and _flushed_past(app, positions[0])


def test_a_reminder_conversation_is_continued_not_duplicated(app: Container, clock: FixedClock) -> None:
    with transaction(app.session_factory) as session:
        point = session.scalars(select(ContactPoint).where(ContactPoint.channel == "telegram")).one()
        earlier = clock.now() - timedelta(days=1)
        conversation = Conversation(cardholder_id=point.cardholder_id, contact_point_id=point.id, channel="telegram",
                                    state="bot", opened_at=earlier, last_message_at=earlier,
                                    cardholder_started=False)
        session.add(conversation)
        session.flush()
        existing_id = conversation.id
    result = pipeline_for(app).receive(InboundMessage(Channel.TELEGRAM, "424242", "ok", clock.now(), "tg-1"))
    assert result.conversation_id == existing_id
    assert gate(app).requests[0].channel is Channel.TELEGRAM
    assert count(app, Conversation) == 1
    with app.session_factory() as session:  # the conversation moved on with the message, in the same write
        assert session.get_one(Conversation, existing_id).last_message_at == clock.now()
        stored = session.get_one(Message, result.message_id)
        assert (stored.conversation_id, stored.cardholder_id, stored.contact_point_id) == (
            existing_id, point.cardholder_id, point.id)
        assert (stored.direction, stored.status, stored.counts_toward_cap) == ("inbound", "received", False)


def test_emoji_and_mixed_script_round_trip(app: Container, clock: FixedClock, dialogue: ScriptedDialogue) -> None:
    text = "我下周还款 👍 next Friday, ok? 🙏🏽 עברית"
    result = pipeline_for(app).receive(sms(clock, text, "SM-emoji"))
    with app.session_factory() as session:
        assert session.get_one(Message, result.message_id).text == text
    assert dialogue.turns[0].text == text


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (InboundMessage(Channel.SMS, "", "hi", datetime(2026, 11, 23, 2, 0)), "address"),
        (InboundMessage(Channel.SMS, "+12125550123", "x" * 5000, datetime(2026, 11, 23)), "text"),
        (InboundMessage(Channel.SMS, "+12125550123", "hi", datetime(2026, 11, 23)), "received_at"),
        (InboundMessage("fax", "+12125550123", "hi", datetime(2026, 11, 23)), "channel"),  # type: ignore[arg-type]
        (InboundMessage(Channel.SMS, "+12125550123", "a\x00b", datetime(2026, 11, 23)), "text"),
    ],
)
def test_malformed_messages_are_refused_naming_the_field(app: Container, message: InboundMessage,
                                                         reason: str) -> None:
    pipeline: InboundPipeline = pipeline_for(app)
    with pytest.raises(InboundRejected, match=f"^{reason}:"):
        pipeline.receive(message)
    assert count(app, Message) == 0


def test_inbound_outcomes_and_dialogue_latency_are_counted(app: Container, clock: FixedClock) -> None:
    pipeline_for(app).receive(sms(clock, "hi"))
    text = app.extras["metrics"].render().decode()
    assert 'accord_inbound_messages_total{channel="sms",outcome="replied"} 1.0' in text
    assert 'accord_dialogue_latency_seconds_count{outcome="ok"} 1.0' in text


def test_concurrent_deliveries_of_one_message_are_processed_once(app: Container, clock: FixedClock) -> None:
    import threading

    pipeline = pipeline_for(app)
    start = threading.Barrier(6)
    results: list[InboundOutcome] = []

    def deliver() -> None:
        start.wait()
        results.append(pipeline.receive(sms(clock, "hello", "SM-race")).outcome)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results).count(InboundOutcome.DUPLICATE) == 5
    assert count(app, Message, Message.direction == "inbound") == 1
    assert len(gate(app).requests) == 1
