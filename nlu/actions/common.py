"""Turning Accord's answer into Rasa events: template messages, mirrored slots, and a pause for officers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.accord_client import AccordUnavailable, call

# The adapter in Accord turns this into DialogueUnavailable: the cardholder gets the holding reply and an officer
# picks the conversation up, exactly as when Rasa itself is down.
UNAVAILABLE = {"error": "accord_unavailable"}


# Marks a reply that asks again for a form slot whose answer Accord could not read. Accord's adapter reads only
# template_id and params, so the mark never reaches a cardholder.
REASK = "reask_slot"


def say(dispatcher: CollectingDispatcher, template_id: str, *, reask: str | None = None, **params: Any) -> None:
    message: dict[str, Any] = {"template_id": template_id, "params": params}
    if reask:
        message[REASK] = reask
    dispatcher.utter_message(json_message=message)


def apply(dispatcher: CollectingDispatcher, result: dict[str, Any]) -> list[EventType]:
    for reply in result.get("replies", []):
        say(dispatcher, reply["template_id"], **reply.get("params", {}))
    events: list[EventType] = [SlotSet(name, value) for name, value in result.get("slots", {}).items()]
    if result.get("pause"):
        # An officer takes over: stop any form and pause the tracker until Accord sends `resume`.
        events += [ActiveLoop(None), SlotSet("requested_slot", None), ConversationPaused()]
    return events


def turn_language(tracker: Tracker) -> str | None:
    """The language Accord chose for this turn from the cardholder's message. Accord's adapter sends it as the
    message's metadata (bot/rasa_engine.py); at a session's start Rasa keeps that metadata in a slot instead.
    Passed back on every call so Accord reads the cardholder's words in the language they wrote in, whichever
    model (server) this is."""
    metadata = (tracker.latest_message or {}).get("metadata") or tracker.get_slot("session_started_metadata") or {}
    language = metadata.get("language") if isinstance(metadata, dict) else None
    return language if language in ("zh", "en") else None


def ranking(tracker: Tracker, top: int = 5) -> list[dict[str, Any]]:
    """The model's top intents for the latest message, as Accord's internal API takes them."""
    ranked = tracker.latest_message.get("intent_ranking") or []
    return [{"name": str(r.get("name")), "confidence": min(1.0, max(0.0, float(r.get("confidence") or 0.0)))}
            for r in ranked[:top] if r.get("name")]


async def step(dispatcher: CollectingDispatcher, tracker: Tracker, name: str, body: dict | None = None,
               method: str = "POST") -> list[EventType]:
    try:
        result = await call(tracker.sender_id, name, body, method, language=turn_language(tracker))
    except AccordUnavailable:
        dispatcher.utter_message(json_message=UNAVAILABLE)
        return []
    return apply(dispatcher, result)


class TemplateAction(Action, ABC):
    """An action that only says one fixed catalog template. Abstract, so rasa-sdk registers only subclasses."""

    template_id = ""

    @property
    @abstractmethod
    def action_name(self) -> str: ...

    def name(self) -> str:
        return self.action_name

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        say(dispatcher, self.template_id)
        return []


class AskSlotAction(TemplateAction):
    """A form's question for one slot (`action_ask_<slot>`).

    When the cardholder's answer could not be read, the form's validation has already said Accord's re-ask for
    this slot ("please reply with ..., for example ..."), and Rasa then runs this question in the same turn. It
    stays silent then: one clear request, not the re-ask followed by a "Thank you" that asks the same thing.
    """

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        if not reasked_this_turn(tracker, self.action_name.removeprefix("action_ask_")):
            say(dispatcher, self.template_id)
        return []


def reasked_this_turn(tracker: Tracker, slot: str) -> bool:
    """Whether a bot message since the cardholder's latest message already asked again for `slot`."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        custom = (event.get("data") or {}).get("custom") if event.get("event") == "bot" else None
        if isinstance(custom, dict) and custom.get(REASK) == slot:
            return True
    return False
