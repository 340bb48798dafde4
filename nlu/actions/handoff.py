"""Leaving the bot. Accord records the escalation or review; the action pauses the tracker when told to."""

from __future__ import annotations

from abc import ABC, abstractmethod

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.accord_client import AccordUnavailable, call
from actions.common import UNAVAILABLE, apply, ranking, say, step

# ask_human, attorney, bankruptcy and complaint share one action: the intent is the escalation reason.
HAND_OVER_INTENTS = ("ask_human", "attorney", "bankruptcy", "complaint")
# The handoff reason Accord knows each clarifiable intent by (a yes to the clarifying question needs it).
REASONS = {**{i: i for i in HAND_OVER_INTENTS}, "dispute": "dispute", "opt_out": "opt_out",
           "cease_contact": "cease", "wrong_number": "wrong_number"}
CLEARED: list[EventType] = [SlotSet("clarifying", False), SlotSet("clarify_intent", None)]


class _Handoff(Action, ABC):
    """Abstract, so rasa-sdk registers only the concrete actions below."""

    reason = ""

    @property
    @abstractmethod
    def action_name(self) -> str: ...

    def name(self) -> str:
        return self.action_name

    def reason_for(self, tracker: Tracker) -> str:
        return self.reason

    # Whether an unsure reading is checked with Accord first (it may answer with a clarifying question).
    clarify = True

    def intent_for(self, tracker: Tracker) -> str:
        return self.reason

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        if self.clarify:
            asked = await _ask_first(dispatcher, tracker, self.intent_for(tracker))
            if asked is not None:
                return asked
        text = tracker.latest_message.get("text") or ""
        return await step(dispatcher, tracker, "handoff", {"reason": self.reason_for(tracker), "text": text})


async def _ask_first(dispatcher: CollectingDispatcher, tracker: Tracker, intent: str) -> list[EventType] | None:
    """None to go on with the handoff; otherwise the events of Accord's answer: a clarifying question (the form,
    if one was running, stops, so the cardholder's yes or no is not taken as a form answer) or a distress
    escalation for an unsure reading that may be distress."""
    parsed = tracker.latest_message.get("intent") or {}
    if parsed.get("name") != intent:
        return None  # reached some other way than by this reading: nothing to be unsure about
    body = {"intent": intent, "confidence": min(1.0, max(0.0, float(parsed.get("confidence") or 0.0))),
            "ranking": ranking(tracker)}
    try:
        result = await call(tracker.sender_id, "clarify", body)
    except AccordUnavailable:
        dispatcher.utter_message(json_message=UNAVAILABLE)
        return []
    decision = (result.get("data") or {}).get("decision")
    if decision not in ("ask", "distress"):
        return None  # "act"
    events = apply(dispatcher, result)
    if decision == "ask" and tracker.active_loop.get("name"):
        events += [ActiveLoop(None), SlotSet("requested_slot", None)]
    return events


class ActionHandOver(_Handoff):
    action_name = "action_hand_over"

    def reason_for(self, tracker: Tracker) -> str:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return intent if intent in HAND_OVER_INTENTS else "ask_human"

    intent_for = reason_for


class ActionDistress(_Handoff):
    # Never asked about: a message that may be distress goes to a person at once.
    action_name, reason, clarify = "action_distress", "distress", False


class ActionDispute(_Handoff):
    action_name, reason = "action_dispute", "dispute"


class ActionAlreadyPaid(_Handoff):
    # A payment check keeps the bot available, so a mistaken reading costs little: no question first.
    action_name, reason, clarify = "action_already_paid", "already_paid", False


class ActionWrongNumber(_Handoff):
    action_name, reason = "action_wrong_number", "wrong_number"


class ActionThirdParty(_Handoff):
    """Someone else answered: stop any form (no verification questions for them) and say nothing about debt."""

    action_name, reason, clarify = "action_third_party", "third_party", False

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if tracker.active_loop.get("name") and not any(e.get("event") == "active_loop" for e in events):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events


class ActionOptOut(_Handoff):
    action_name, reason = "action_opt_out", "opt_out"


class ActionCeaseContact(_Handoff):
    """Stop all contact, on every channel (opt_out stops this channel only). Accord records it as "cease"."""

    action_name, reason = "action_cease_contact", "cease"

    def intent_for(self, tracker: Tracker) -> str:
        return "cease_contact"


class ActionClarifyYes(Action):
    """Yes to the clarifying question: the handoff it asked about, with the words that raised it."""

    def name(self) -> str:
        return "action_clarify_yes"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        reason = REASONS.get(tracker.get_slot("clarify_intent") or "")
        if reason is None:  # nothing (known) was asked: treat the yes as loose
            say(dispatcher, "dialogue.how_can_help")
            return list(CLEARED)
        body = {"reason": reason, "text": _asked_about(tracker)}
        return CLEARED + await step(dispatcher, tracker, "handoff", body)


class ActionClarifyNo(Action):
    """No to the clarifying question: nothing happens, and the bot asks how it can help."""

    def name(self) -> str:
        return "action_clarify_no"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        say(dispatcher, "dialogue.how_can_help")
        return list(CLEARED)


def _asked_about(tracker: Tracker) -> str:
    """The cardholder's message before this yes: the one the question was about."""
    users = [e for e in reversed(tracker.events) if e.get("event") == "user"]
    return str(users[1].get("text") or "") if len(users) > 1 else ""
