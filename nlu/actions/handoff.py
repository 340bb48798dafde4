"""Leaving the bot. Accord records the escalation or review; the action pauses the tracker when told to."""

from __future__ import annotations

from abc import ABC, abstractmethod

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import step

# ask_human, attorney, bankruptcy and complaint share one action: the intent is the escalation reason.
HAND_OVER_INTENTS = ("ask_human", "attorney", "bankruptcy", "complaint")


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

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        text = tracker.latest_message.get("text") or ""
        return await step(dispatcher, tracker, "handoff", {"reason": self.reason_for(tracker), "text": text})


class ActionHandOver(_Handoff):
    action_name = "action_hand_over"

    def reason_for(self, tracker: Tracker) -> str:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        return intent if intent in HAND_OVER_INTENTS else "ask_human"


class ActionDistress(_Handoff):
    action_name, reason = "action_distress", "distress"


class ActionDispute(_Handoff):
    action_name, reason = "action_dispute", "dispute"


class ActionAlreadyPaid(_Handoff):
    action_name, reason = "action_already_paid", "already_paid"


class ActionWrongNumber(_Handoff):
    action_name, reason = "action_wrong_number", "wrong_number"


class ActionThirdParty(_Handoff):
    """Someone else answered: stop any form (no verification questions for them) and say nothing about debt."""

    action_name, reason = "action_third_party", "third_party"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        if tracker.active_loop.get("name") and not any(e.get("event") == "active_loop" for e in events):
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events


class ActionOptOut(_Handoff):
    action_name, reason = "action_opt_out", "opt_out"
