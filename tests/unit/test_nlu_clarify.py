"""When the bot asks before acting (accord/dialogue/clarify.py), with the thresholds in config/dialogue.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.dialogue.clarify import CLARIFIABLE, ClarifyModel, decide, distress_suspected, question
from accord.dialogue.config import load_dialogue

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="module")
def cfg() -> ClarifyModel:
    return load_dialogue(CONFIG_DIR).clarify


def test_every_clarifiable_intent_has_a_threshold_in_dialogue_yaml(cfg: ClarifyModel) -> None:
    assert set(cfg.thresholds) == set(CLARIFIABLE)


@pytest.mark.parametrize("intent", CLARIFIABLE)
def test_below_the_threshold_the_bot_asks(cfg: ClarifyModel, intent: str) -> None:
    limit = cfg.threshold(intent)
    assert decide(intent, limit, [], cfg) == "act"
    assert decide(intent, limit - 0.01, [], cfg) == "ask"


def test_distress_is_never_asked_about(cfg: ClarifyModel) -> None:
    assert decide("distress", 0.05, [], cfg) == "distress"


def test_an_unsure_reading_that_may_be_distress_goes_to_a_person(cfg: ClarifyModel) -> None:
    ranking = [("dispute", 0.4), ("distress", cfg.distress_floor)]
    assert decide("dispute", 0.4, ranking, cfg) == "distress"
    assert decide("dispute", 0.4, [("dispute", 0.4), ("distress", cfg.distress_floor - 0.01)], cfg) == "ask"
    # A confident reading is acted on even with some distress in the ranking: it goes to a person anyway.
    assert decide("dispute", 0.95, [("distress", 0.3)], cfg) == "act"
    assert distress_suspected([("nlu_fallback", 0.4), ("distress", 0.3)], cfg)


def test_ordinary_intents_are_left_to_the_rules(cfg: ClarifyModel) -> None:
    assert decide("greet", 0.1, [("distress", 0.9)], cfg) == "act"


def test_the_question_is_the_catalog_template_and_marks_the_pending_yes_or_no() -> None:
    outcome = question("cease_contact")
    assert outcome.replies == [{"template_id": "clarify.cease_contact", "params": {}}]
    assert outcome.slots == {"clarifying": True, "clarify_intent": "cease_contact"}
    assert not outcome.pause


def test_every_clarifiable_intent_has_an_approved_question_in_both_languages() -> None:
    import yaml

    data = yaml.safe_load((CONFIG_DIR / "templates" / "clarify.yaml").read_text(encoding="utf-8"))
    by_id = {t["id"]: t for t in data["templates"]}
    for intent in CLARIFIABLE:
        template = by_id[f"clarify.{intent}"]
        assert template["limited_content"] is True and template["purposes"] == ["bot_reply"]
        assert all(template[lang]["status"] == "approved" for lang in ("zh", "en"))


def test_a_misunderstood_message_whose_best_reading_is_clarifiable_gets_that_question(cfg: ClarifyModel) -> None:
    from accord.dialogue.clarify import fallback_question

    floor = cfg.fallback_floor
    assert fallback_question([("nlu_fallback", 0.4), ("cease_contact", floor)], cfg) == "cease_contact"
    assert fallback_question([("nlu_fallback", 0.4), ("cease_contact", floor - 0.01)], cfg) is None
    assert fallback_question([("nlu_fallback", 0.4), ("greet", 0.39), ("dispute", 0.35)], cfg) is None
