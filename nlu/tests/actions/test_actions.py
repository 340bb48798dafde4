"""Actions replayed on recorded trackers with the real CollectingDispatcher, against a fake Accord API."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import FakeAccord, load_tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import (
    ActionCeaseContact,
    ActionClarifyNo,
    ActionClarifyYes,
    ActionDispute,
    ActionDistress,
    ActionHandOver,
)
from actions.negotiation import ActionOfferPlan, ActionSelectPlan, ValidateHardshipForm, ValidatePromiseForm
from actions.session import ActionFallback, ActionGreet, ActionSessionStart
from actions.verification import ActionVerify, ValidateVerificationForm

DOMAIN: dict[str, Any] = {}


def run(action: Any, tracker_name: str, domain: dict[str, Any] = DOMAIN) -> tuple:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, load_tracker(tracker_name), domain))
    return dispatcher.messages, events


def templates(messages: list[dict[str, Any]]) -> list[str]:
    return [m["custom"]["template_id"] for m in messages if m.get("custom", {}).get("template_id")]


def test_verify_sends_both_answers_and_mirrors_accords_slots(accord: FakeAccord) -> None:
    accord.answer("verify", {"replies": [{"template_id": "verify.success", "params": {}}],
                             "slots": {"verified": True, "verification_locked": False}, "pause": False})
    messages, events = run(ActionVerify(), "verification_submitted")
    request = accord.requests[-1]
    assert request["path"] == "/internal/v1/conversations/41/verify"
    assert request["body"] == {"card_last4": "1234", "birth_year": "born 1985"}
    assert templates(messages) == ["verify.success"]
    assert {"event": "slot", "timestamp": None, "name": "verified", "value": True} in events


def test_locked_verification_pauses_the_bot(accord: FakeAccord) -> None:
    accord.answer("verify", {"replies": [{"template_id": "verify.locked", "params": {}}],
                             "slots": {"verified": False, "verification_locked": True}, "pause": True})
    messages, events = run(ActionVerify(), "verification_submitted")
    assert templates(messages) == ["verify.locked"]
    assert ConversationPaused() in events
    assert {"event": "active_loop", "timestamp": None, "name": None} in events


def test_form_answers_are_read_by_accord(accord: FakeAccord) -> None:
    accord.answer("parse", {"data": {"value": "4321"}, "replies": []})
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateVerificationForm().validate_card_last4(
        "my card ends with 4321", dispatcher, load_tracker("verification_asks_card"), DOMAIN))
    assert result == {"card_last4": "4321"}
    assert accord.requests[-1]["body"] == {"slot": "card_last4", "text": "my card ends with 4321"}
    assert dispatcher.messages == []


def test_unreadable_answer_is_cleared_and_accords_re_ask_is_said(accord: FakeAccord) -> None:
    accord.answer("parse", {"data": {"value": None},
                            "replies": [{"template_id": "verify.invalid_card_last4", "params": {}}]})
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateVerificationForm().validate_card_last4(
        "no idea", dispatcher, load_tracker("verification_asks_card"), DOMAIN))
    assert result == {"card_last4": None}
    assert templates(dispatcher.messages) == ["verify.invalid_card_last4"]


def test_hardship_form_prefills_the_amount_from_the_first_message(accord: FakeAccord) -> None:
    accord.answer("parse", {"data": {"value": "20000"}, "replies": []})
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidateHardshipForm().extract_affordable_amount(
        dispatcher, load_tracker("hardship_activating"), DOMAIN))
    assert result == {"affordable_amount": "20000"}
    assert accord.requests[-1]["body"]["text"] == "I lost my job, can I pay 200 a month?"


def test_promise_form_reads_the_topic_text_not_the_verification_answer(accord: FakeAccord) -> None:
    accord.answer("parse", {"data": {"value": "2026-11-27"}, "replies": []})
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ValidatePromiseForm().extract_promise_date(
        dispatcher, load_tracker("promise_activating"), DOMAIN))
    assert result == {"promise_date": "2026-11-27"}
    assert accord.requests[-1]["body"] == {"slot": "promise_date", "text": "I'll pay 500 next Friday"}


def test_offer_sends_the_collected_slots(accord: FakeAccord) -> None:
    accord.answer("hardship", {"replies": [{"template_id": "plan.offer_intro", "params": {}},
                                           {"template_id": "plan.option_installments", "params": {"n": 1}}],
                               "slots": {"plan_stage": "offered"}})
    messages, events = run(ActionOfferPlan(), "hardship_submitted")
    assert accord.requests[-1]["body"] == {"hardship_type": "job_loss", "hardship_types": [],
                                           "reason": "I lost my job", "affordable_minor": 20000}
    assert templates(messages) == ["plan.offer_intro", "plan.option_installments"]
    assert messages[1]["custom"]["params"] == {"n": 1}
    assert {"event": "slot", "timestamp": None, "name": "plan_stage", "value": "offered"} in events


def test_select_passes_the_cardholders_words(accord: FakeAccord) -> None:
    run(ActionSelectPlan(), "plan_offered_accept")
    assert accord.requests[-1]["body"] == {"text": "I'll take option 2"}


def test_hand_over_uses_the_intent_as_the_reason_and_pauses(accord: FakeAccord) -> None:
    accord.answer("handoff", {"replies": [{"template_id": "escalation.handoff", "params": {}}], "pause": True})
    messages, events = run(ActionHandOver(), "attorney")
    assert accord.requests[-1]["body"]["reason"] == "attorney"
    assert ConversationPaused() in events
    run(ActionHandOver(), "ask_human")
    assert accord.requests[-1]["body"]["reason"] == "ask_human"


def test_distress(accord: FakeAccord) -> None:
    accord.answer("handoff", {"replies": [{"template_id": "distress.support", "params": {}}], "pause": True})
    messages, events = run(ActionDistress(), "ask_human")
    assert accord.requests[-1]["body"]["reason"] == "distress"
    assert templates(messages) == ["distress.support"]


def test_fallbacks_in_a_row_are_counted_for_accord(accord: FakeAccord) -> None:
    _messages, events = run(ActionFallback(), "one_fallback")
    assert accord.requests[-1]["body"] == {"in_a_row": 1, "ranking": []}
    assert events[-1] == {"event": "followup", "timestamp": None, "name": "action_listen"}
    run(ActionFallback(), "two_fallbacks")
    assert accord.requests[-1]["body"]["in_a_row"] == 2


def test_session_start_mirrors_accords_verification(accord: FakeAccord) -> None:
    accord.answer("context", {"verified": True, "verification_locked": False})
    _messages, events = run(ActionSessionStart(), "ask_human")
    assert accord.requests[-1]["method"] == "GET"
    assert {"event": "slot", "timestamp": None, "name": "verified", "value": True} in events
    assert events[-1]["name"] == "action_listen"


def test_small_talk_needs_no_call(accord: FakeAccord) -> None:
    messages, events = run(ActionGreet(), "ask_human")
    assert templates(messages) == ["dialogue.greet"] and events == [] and accord.requests == []


def test_every_call_carries_the_shared_secret(accord: FakeAccord) -> None:
    run(ActionHandOver(), "ask_human")
    assert accord.requests[-1]["headers"]["x-accord-internal-token"] == "test-internal-token"


def test_accord_down_or_refusing_becomes_the_unavailable_marker(accord: FakeAccord, monkeypatch: Any) -> None:
    monkeypatch.setenv("ACCORD_INTERNAL_API_TOKEN", "wrong")
    messages, events = run(ActionHandOver(), "ask_human")
    assert [m["custom"] for m in messages] == [{"error": "accord_unavailable"}]
    assert events == []


def test_third_party_stops_the_verification_form(accord: FakeAccord) -> None:
    from actions.handoff import ActionThirdParty

    accord.answer("handoff", {"replies": [{"template_id": "third_party.acknowledged", "params": {}}],
                              "slots": {"verified": False}})
    messages, events = run(ActionThirdParty(), "verification_asks_card")
    assert accord.requests[-1]["body"]["reason"] == "third_party"
    assert templates(messages) == ["third_party.acknowledged"]
    assert {"event": "active_loop", "timestamp": None, "name": None} in events


def test_cease_contact_is_the_cease_handoff_after_a_confident_reading(accord: FakeAccord) -> None:
    accord.answer("clarify", {"data": {"decision": "act"}})
    accord.answer("handoff", {"replies": [{"template_id": "cease.acknowledgement", "params": {}}], "pause": True})
    messages, events = run(ActionCeaseContact(), "cease_contact")
    clarify, handoff = accord.requests[-2:]
    assert clarify["path"].endswith("/clarify")
    assert clarify["body"] == {"intent": "cease_contact", "confidence": 0.96,
                               "ranking": [{"name": "cease_contact", "confidence": 0.96},
                                           {"name": "opt_out", "confidence": 0.03}]}
    assert handoff["body"]["reason"] == "cease"
    assert handoff["body"]["text"].startswith("stop contacting me")
    assert ConversationPaused() in events


def test_an_unsure_reading_gets_accords_question_and_stops_the_form(accord: FakeAccord) -> None:
    accord.answer("clarify", {"replies": [{"template_id": "clarify.dispute", "params": {}}],
                              "slots": {"clarifying": True, "clarify_intent": "dispute"},
                              "data": {"decision": "ask"}})
    messages, events = run(ActionDispute(), "dispute_unsure_in_form")
    assert [r["path"].rsplit("/", 1)[1] for r in accord.requests] == ["clarify"]  # no handoff yet
    assert templates(messages) == ["clarify.dispute"]
    assert {"event": "slot", "timestamp": None, "name": "clarifying", "value": True} in events
    assert {"event": "active_loop", "timestamp": None, "name": None} in events
    assert ConversationPaused() not in events


def test_an_unsure_reading_that_may_be_distress_is_accords_distress_escalation(accord: FakeAccord) -> None:
    accord.answer("clarify", {"replies": [{"template_id": "distress.support", "params": {}}], "pause": True,
                              "data": {"decision": "distress"}})
    messages, events = run(ActionDispute(), "dispute_unsure_in_form")
    assert templates(messages) == ["distress.support"]
    assert ConversationPaused() in events
    assert len(accord.requests) == 1


def test_distress_is_never_asked_about(accord: FakeAccord) -> None:
    run(ActionDistress(), "dispute_unsure_in_form")
    assert [r["path"].rsplit("/", 1)[1] for r in accord.requests] == ["handoff"]


def test_yes_to_the_question_runs_the_handoff_it_asked_about(accord: FakeAccord) -> None:
    accord.answer("handoff", {"replies": [{"template_id": "cease.acknowledgement", "params": {}}], "pause": True})
    messages, events = run(ActionClarifyYes(), "clarify_yes")
    assert accord.requests[-1]["body"] == {"reason": "cease", "text": "leave me alone for good"}
    assert {"event": "slot", "timestamp": None, "name": "clarifying", "value": False} in events
    assert ConversationPaused() in events


def test_no_to_the_question_returns_to_the_conversation(accord: FakeAccord) -> None:
    messages, events = run(ActionClarifyNo(), "clarify_yes")
    assert templates(messages) == ["dialogue.how_can_help"] and accord.requests == []
    assert {"event": "slot", "timestamp": None, "name": "clarify_intent", "value": None} in events


def test_fallback_passes_the_ranking_so_accord_can_see_a_weak_distress_reading(accord: FakeAccord) -> None:
    run(ActionFallback(), "fallback_maybe_distress")
    assert accord.requests[-1]["body"]["ranking"][1] == {"name": "distress", "confidence": 0.31}


def test_every_call_carries_the_turns_language_from_the_message_metadata(accord: FakeAccord) -> None:
    """Accord chose the turn's language from the cardholder's message and sent it as the message's metadata; the
    actions pass it back so Accord reads the cardholder's words in it, whichever model answered."""
    accord.answer("verify", {"replies": [], "slots": {}, "pause": False})
    tracker = load_tracker("verification_submitted")
    tracker.latest_message["metadata"] = {"language": "en"}
    asyncio.run(ActionVerify().run(CollectingDispatcher(), tracker, DOMAIN))
    assert accord.requests[-1]["headers"]["x-accord-turn-language"] == "en"

    tracker.latest_message["metadata"] = {}
    asyncio.run(ActionVerify().run(CollectingDispatcher(), tracker, DOMAIN))
    assert "x-accord-turn-language" not in accord.requests[-1]["headers"]  # Accord then uses the profile's


def test_the_first_verification_question_is_accords_to_ask(accord: FakeAccord) -> None:
    from rasa_sdk.events import ActiveLoop

    from actions.verification import ActionAskCardLast4

    accord.answer("verify/ask", {"replies": [{"template_id": "verify.ask_card_last4", "params": {}}],
                                 "slots": {}, "pause": False, "data": {"decision": "ask"}})
    messages, events = run(ActionAskCardLast4(), "verification_submitted")
    assert templates(messages) == ["verify.ask_card_last4"] and events == []
    assert accord.requests[-1]["path"].endswith("/verify/ask")
    # Someone who said they are not the cardholder: Accord's kind refusal, and the form stops.
    accord.answer("verify/ask", {"replies": [{"template_id": "third_party.verification_closed", "params": {}}],
                                 "slots": {"verified": False}, "pause": False, "data": {"decision": "refused"}})
    messages, events = run(ActionAskCardLast4(), "verification_submitted")
    assert templates(messages) == ["third_party.verification_closed"]
    assert ActiveLoop(None) in events
