"""The internal API's `clarify` step and the fallback's distress check: Accord, not Rasa, decides whether an
unsure reading is acted on, asked about, or (when it may be distress) taken to a person. Thresholds come from
config/dialogue.yaml (`clarify:`)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.bootstrap import Container
from accord.dialogue.clarify import CLARIFIABLE
from storage.tables import Escalation
from tests.integration.test_internal_api import _seed, api, post, templates  # noqa: F401  (api is a fixture)


def test_a_confident_reading_is_acted_on(api: TestClient, container: Container) -> None:  # noqa: F811
    cid = _seed(container)
    result = post(api, cid, "clarify", {"intent": "dispute", "confidence": 0.97, "ranking": []})
    assert result["data"] == {"decision": "act"} and result["replies"] == [] and not result["pause"]


@pytest.mark.parametrize("intent", CLARIFIABLE)
def test_an_unsure_reading_gets_its_catalog_question(api: TestClient, container: Container,  # noqa: F811
                                                     intent: str) -> None:
    cid = _seed(container)
    result = post(api, cid, "clarify", {"intent": intent, "confidence": 0.3,
                                        "ranking": [{"name": intent, "confidence": 0.3}]})
    assert templates(result) == [f"clarify.{intent}"]
    assert result["slots"] == {"clarifying": True, "clarify_intent": intent}
    assert not result["pause"]


def test_an_unsure_reading_that_may_be_distress_goes_to_a_person(api: TestClient,  # noqa: F811
                                                                  container: Container) -> None:
    cid = _seed(container)
    result = post(api, cid, "clarify", {"intent": "complaint", "confidence": 0.4,
                                        "ranking": [{"name": "complaint", "confidence": 0.4},
                                                    {"name": "distress", "confidence": 0.35}]})
    assert templates(result) == ["distress.support"] and result["pause"]
    assert result["data"]["decision"] == "distress"
    with container.session_factory() as session:
        assert session.scalars(select(Escalation.reason).where(Escalation.conversation_id == cid)).one() == "distress"


def test_a_misunderstood_message_that_may_be_distress_goes_to_a_person(api: TestClient,  # noqa: F811
                                                                        container: Container) -> None:
    cid = _seed(container)
    weak = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "distress", "confidence": 0.3}]
    assert templates(post(api, cid, "fallback", {"in_a_row": 1, "ranking": weak})) == ["distress.support"]
    other = _seed(container, balance=700_000)
    plain = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "distress", "confidence": 0.05}]
    assert templates(post(api, other, "fallback", {"in_a_row": 1, "ranking": plain})) == ["dialogue.fallback"]


def test_a_misunderstood_message_that_may_be_a_dispute_is_asked_about(api: TestClient,  # noqa: F811
                                                                      container: Container) -> None:
    cid = _seed(container)
    ranking = [{"name": "nlu_fallback", "confidence": 0.4}, {"name": "dispute", "confidence": 0.38},
               {"name": "distress", "confidence": 0.01}]
    result = post(api, cid, "fallback", {"in_a_row": 1, "ranking": ranking})
    assert templates(result) == ["clarify.dispute"] and result["slots"]["clarifying"] is True
