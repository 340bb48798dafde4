"""Each database has its own dialogue namespace, so Rasa's trackers from a replaced database never answer for a
new database's conversations (whose ids restart at 1)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.bootstrap import Container, bootstrap
from accord.dialogue.handback import resume_bot
from accord.settings import Settings
from bot.inbound import InboundMessage, pipeline_for
from core.clock import FixedClock
from core.dialogue_sender import NAMESPACE_PATTERN
from core.enums import Channel
from core.ports import DialogueReply
from storage.db import alembic_config, make_engine, make_session_factory, migrate, transaction
from storage.installation import DialogueSenders, dialogue_senders
from storage.tables import Installation
from tests import builders, legacy_rows
from tests.conftest import create_pg_database, drop_pg_database
from tests.fakes.dialogue import ScriptedDialogue
from tests.fakes.gate import AllowingGate
from web.app import create_app

INITIAL_SCHEMA = "4d2a2e63c707"  # the revision before the installation table


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, unmigrated database of each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    url = create_pg_database("accord_senders")
    try:
        yield url
    finally:
        drop_pg_database(url)


def _namespace(url: str) -> str | None:
    return DialogueSenders(make_session_factory(make_engine(url))).namespace


def test_every_new_database_gets_a_namespace_of_its_own(fresh_url: str, tmp_path: Path) -> None:
    other = f"sqlite:///{tmp_path / 'other.db'}"
    migrate(fresh_url)
    migrate(other)
    first, second = _namespace(fresh_url), _namespace(other)
    assert first and second and NAMESPACE_PATTERN.fullmatch(first) and NAMESPACE_PATTERN.fullmatch(second)
    assert first != second
    migrate(fresh_url)  # upgrading again keeps it
    assert _namespace(fresh_url) == first


def test_a_database_that_had_conversations_keeps_bare_ids_for_its_trackers(fresh_url: str,
                                                                          clock: FixedClock) -> None:
    command.upgrade(alembic_config(fresh_url), INITIAL_SCHEMA)
    engine = make_engine(fresh_url)
    sessions = make_session_factory(engine)
    with engine.begin() as conn:  # the initial schema's rows, written as that schema had them
        holder = legacy_rows.holder(conn, clock.now())
        legacy_rows.conversation(conn, holder, legacy_rows.point(conn, holder, clock.now()), clock.now())
    migrate(fresh_url)
    senders = DialogueSenders(sessions)
    assert senders.namespace is None
    assert senders.sender_for(1) == "1" and senders.conversation_of("1") == 1
    with sessions() as session:
        assert session.scalars(select(Installation.id)).all() == [1]


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Iterator[Container]:
    dialogue = ScriptedDialogue(replies=[DialogueReply("bot.greeting", {"name_hint": "A"})])
    container = bootstrap(settings, clock=clock, dialogue=dialogue)
    container.extras["gate"] = AllowingGate(container.session_factory, clock, container.extras["channels"])
    with transaction(container.session_factory) as session:
        builders.cardholder(session, clock.now())
    try:
        yield container
    finally:
        container.close()


def test_the_dialogue_engine_hears_the_conversation_under_this_databases_namespace(app: Container,
                                                                                  clock: FixedClock) -> None:
    result = pipeline_for(app).receive(InboundMessage(Channel.SMS, "+12125550123", "hello", clock.now(), "SM1"))
    [turn] = app.extras["dialogue"].turns
    namespace = dialogue_senders(app).namespace
    assert namespace and turn.sender_id == f"{namespace}-{result.conversation_id}"


@dataclass
class _RecordingResume(ScriptedDialogue):
    resumed: list[str] = field(default_factory=list)

    def resume(self, sender_id: str) -> bool:
        self.resumed.append(sender_id)
        return True


def test_a_hand_back_resumes_the_namespaced_tracker(app: Container, clock: FixedClock) -> None:
    result = pipeline_for(app).receive(InboundMessage(Channel.SMS, "+12125550123", "hello", clock.now(), "SM1"))
    engine = _RecordingResume()
    app.extras["dialogue"] = engine
    assert result.conversation_id is not None
    assert resume_bot(app, result.conversation_id, officer="officer:amy")
    assert engine.resumed == [dialogue_senders(app).sender_for(result.conversation_id)]


def test_the_internal_api_refuses_another_databases_sender(app: Container, clock: FixedClock) -> None:
    result = pipeline_for(app).receive(InboundMessage(Channel.SMS, "+12125550123", "hello", clock.now(), "SM1"))
    headers = {"X-Accord-Internal-Token": "change-me"}
    ours = dialogue_senders(app).sender_for(result.conversation_id or 0)
    with TestClient(create_app(app, modules=("web.internal_api",))) as api:
        assert api.get(f"/internal/v1/conversations/{ours}/context", headers=headers).status_code == 200
        for foreign in ("0be1c2d3e4f5-1", str(result.conversation_id)):
            answer = api.get(f"/internal/v1/conversations/{foreign}/context", headers=headers)
            assert answer.status_code == 404
            assert "belongs to another Accord database" in answer.json()["detail"]
