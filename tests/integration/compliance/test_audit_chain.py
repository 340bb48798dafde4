"""The hash-chained audit log: appends chain, and `accord audit verify` finds edits, deletions and swaps."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, event, func, select, text, update
from typer.testing import CliRunner

from accord.bootstrap import Container
from accord.cli.main import app
from bot.audit_link import append_audit
from compliance import audit
from storage.db import make_engine, make_session_factory, transaction
from storage.tables import AuditEvent
from tests.builders import cardholder

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def _append(container: Container, n: int) -> None:
    for i in range(n):
        with transaction(container.session_factory) as s:
            audit.append(s, "officer:kim", "test.event", "cardholder", i,
                         {"n": i, "when": T0, "名字": "张伟", "nested": {"b": 1, "a": [1, 2]}}, at=T0 + timedelta(seconds=i))


def _verify(container: Container) -> audit.VerifyResult:
    with container.session_factory() as s:
        return audit.verify(s)


def _run_cli(container: Container) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "verify"], env={"DATABASE_URL": container.settings.database_url})
    return result.exit_code, result.output


def test_intact_chain_verifies(container: Container) -> None:
    _append(container, 5)
    result = _verify(container)
    assert result.ok and result.count == 5 and result.head_seq == 5
    code, out = _run_cli(container)
    assert code == 0 and "audit log intact: 5 records" in out


def test_empty_log_verifies(container: Container) -> None:
    assert _verify(container).ok


def test_edit_is_detected_and_named(container: Container) -> None:
    _append(container, 5)
    with transaction(container.session_factory) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="officer:mallory"))
    result = _verify(container)
    assert not result.ok and result.seq == 3 and "edited" in (result.problem or "")
    code, out = _run_cli(container)
    assert code == 1 and "seq=3" in out


def test_edit_of_the_payload_is_detected(container: Container) -> None:
    _append(container, 3)
    with transaction(container.session_factory) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(payload={"n": 99}))
    assert _verify(container).seq == 2


def test_rewritten_and_rehashed_record_breaks_the_next_link(container: Container) -> None:
    _append(container, 4)
    with transaction(container.session_factory) as s:
        row = s.scalars(select(AuditEvent).where(AuditEvent.seq == 2)).one()
        row.actor = "officer:mallory"
        row.hash = audit.record_hash(row.prev_hash, audit.canonical(row.seq, row.occurred_at, row.actor, row.kind,
                                                                    row.subject_type, row.subject_id, row.payload,
                                                                    row.prev_hash))
    result = _verify(container)
    assert not result.ok and result.seq == 3 and "seq 2 was rewritten" in (result.problem or "")


def test_deleted_record_is_detected(container: Container) -> None:
    _append(container, 5)
    with transaction(container.session_factory) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq == 2))
    result = _verify(container)
    assert not result.ok and result.seq == 3 and "seq 2 missing" in (result.problem or "")


def test_deleted_tail_is_detected(container: Container) -> None:
    _append(container, 5)
    with transaction(container.session_factory) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.seq >= 4))
    result = _verify(container)
    assert not result.ok and "seq 4..5 missing at the end" in (result.problem or "")


def test_swapped_records_are_detected(container: Container) -> None:
    _append(container, 5)
    with transaction(container.session_factory) as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 2).values(seq=-2))
        s.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(seq=2))
        s.execute(update(AuditEvent).where(AuditEvent.seq == -2).values(seq=4))
    result = _verify(container)
    assert not result.ok and result.seq == 2 and "moved from another position" in (result.problem or "")


def test_swapped_contents_are_detected(container: Container) -> None:
    _append(container, 4)
    with transaction(container.session_factory) as s:
        rows = {r.seq: r for r in s.scalars(select(AuditEvent)).all()}
        a, b = rows[2], rows[3]
        fields = ("occurred_at", "actor", "kind", "subject_type", "subject_id", "payload", "prev_hash", "hash")
        values_a = {f: getattr(a, f) for f in fields}
        for f in fields:
            setattr(a, f, getattr(b, f))
            setattr(b, f, values_a[f])
    result = _verify(container)
    assert not result.ok and result.seq == 2


def test_deleted_head_is_detected(container: Container) -> None:
    _append(container, 2)
    with transaction(container.session_factory) as s:
        s.execute(text("DELETE FROM audit_head"))
    assert "head row is missing" in (_verify(container).problem or "")


def test_concurrent_appends_get_strictly_increasing_seq(container: Container) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers itself; the row lock matters on PostgreSQL")
    engine = make_engine(container.settings.database_url, pool_size=8)
    factory = make_session_factory(engine)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            barrier.wait()
            for i in range(25):
                with transaction(factory) as s:
                    audit.append(s, f"worker:{k}", "test.race", "n", i, {"k": k}, at=T0)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert errors == []
    result = _verify(container)
    assert result.ok and result.count == 200


def test_events_the_database_chains_verify_like_the_portable_ones(container: Container) -> None:
    """On PostgreSQL an append after the first (which creates the head) is chained by the database itself; a
    record carrying the characters that mark the database's values (U+E000, U+E001) is appended the portable
    way. Both verify, in one unbroken sequence, and read back as written."""
    _append(container, 3)
    odd = {"note": "\ue000prev_hash\ue001 and \ue001", "金额": "¥1,500.00", "quote": 'say "hi"\n'}
    with transaction(container.session_factory) as s:
        written = audit.append_many(s, [audit.Entry("bot", "test.batch", "account", 7, {"k": k, "ok": True})
                                        for k in range(4)], at=T0 + timedelta(minutes=1))
        odd_event = audit.append(s, "officer:kim", "test.odd", "account", "A-1", odd, at=T0 + timedelta(minutes=2))
    assert [row["seq"] for row in written] == [4, 5, 6, 7] and odd_event.seq == 8
    assert written[0]["prev_hash"] != audit.GENESIS and written[1]["prev_hash"] == written[0]["hash"]

    result = _verify(container)
    assert result.ok and result.count == 8 and result.head_hash == odd_event.hash
    with container.session_factory() as s:
        stored = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [e.hash for e in stored[3:7]] == [row["hash"] for row in written]
        assert stored[7].payload == odd


def test_a_dialogue_steps_event_is_appended_last_just_before_its_commit(container: Container) -> None:
    """A dialogue step records its event and then goes on writing: the event is written after the step's own
    writes, as the transaction's last statement, so the head is locked from there to the commit only. An append
    made directly in the same transaction comes after it, keeping the order; a rolled-back step appends nothing."""
    _append(container, 1)
    statements: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(" ".join(statement.split()[:3]))

    event.listen(container.engine, "before_cursor_execute", note)
    try:
        with transaction(container.session_factory) as s:
            holder = cardholder(s, T0, external_id="LATE")
            append_audit(s, kind="plan.offered", actor="bot", subject_type="account", subject_id=1,
                         payload={"plan_ids": [1, 2]}, at=T0 + timedelta(minutes=1))
            payload = {"plan_id": 3}
            append_audit(s, kind="plan.accepted", actor="cardholder", subject_type="installment_plan",
                         subject_id=3, payload=payload, at=T0 + timedelta(minutes=2))
            payload["plan_id"] = 4  # the event reads as it did when it was recorded
            assert s.scalar(select(func.count()).select_from(AuditEvent)) == 1  # nothing appended yet
            holder.full_name = "Ana Ruiz-Late"  # a write the step makes after its event, flushed at the commit
            statements.clear()
        assert statements[0].startswith("UPDATE cardholders")
        assert statements[1:] and all("audit" in st.lower() or st.startswith("WITH") for st in statements[1:])

        with transaction(container.session_factory) as s:
            append_audit(s, kind="promise.recorded", actor="bot", subject_type="account", subject_id=1,
                         payload={}, at=T0 + timedelta(minutes=3))
            audit.append(s, "gate", "message.sent", "message", 9, {}, at=T0 + timedelta(minutes=4))

        with pytest.raises(RuntimeError), transaction(container.session_factory) as s:
            append_audit(s, kind="handoff.requested", actor="bot", subject_type="conversation", subject_id=1,
                         payload={}, at=T0 + timedelta(minutes=5))
            raise RuntimeError("the step failed")
    finally:
        event.remove(container.engine, "before_cursor_execute", note)

    with container.session_factory() as s:
        stored = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [(e.seq, e.kind) for e in stored[1:]] == [(2, "plan.offered"), (3, "plan.accepted"),
                                                    (4, "promise.recorded"), (5, "message.sent")]
    assert stored[2].payload == {"plan_id": 3}
    assert _verify(container).ok
