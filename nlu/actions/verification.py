"""Right-party verification: the form asks, Accord reads and checks the answers."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.accord_client import AccordUnavailable, call
from actions.common import UNAVAILABLE, AskSlotAction, apply, reasked_this_turn, say, step, turn_language


async def parse_slot(dispatcher: CollectingDispatcher, tracker: Tracker, slot: str, text: Any,
               quiet: bool = False) -> dict[str, Any]:
    """Ask Accord to read one form answer; an unreadable one is cleared and Accord's re-ask template said."""
    if not isinstance(text, str) or not text.strip():
        return {slot: None}
    try:
        result = await call(tracker.sender_id, "parse", {"slot": slot, "text": text},
                            language=turn_language(tracker))
    except AccordUnavailable:
        dispatcher.utter_message(json_message=UNAVAILABLE)
        return {slot: None}
    value = result.get("data", {}).get("value")
    if value is None and not quiet:
        for reply in result.get("replies", []):
            say(dispatcher, reply["template_id"], reask=slot, **reply.get("params", {}))
    return {slot: value}


class ValidateVerificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_verification_form"

    async def validate_card_last4(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict) -> dict[str, Any]:
        return await parse_slot(dispatcher, tracker, "card_last4", value)

    async def validate_birth_year(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: dict) -> dict[str, Any]:
        return await parse_slot(dispatcher, tracker, "birth_year", value)


class ActionAskCardLast4(AskSlotAction):
    """The form's first question. Accord answers it: for someone who said they are not the cardholder (or on an
    address marked as reaching someone else) verification never starts, and "it's me" goes to an officer."""

    action_name, template_id = "action_ask_card_last4", "verify.ask_card_last4"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        if reasked_this_turn(tracker, "card_last4"):
            return []
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        try:
            result = await call(tracker.sender_id, "verify/ask", {"intent": intent}, language=turn_language(tracker))
        except AccordUnavailable:
            dispatcher.utter_message(json_message=UNAVAILABLE)
            return []
        return refused_or(dispatcher, result)


def refused_or(dispatcher: CollectingDispatcher, result: dict[str, Any]) -> list[EventType]:
    """Accord's answer said; a refusal also ends the form and waits for the person (the form's submit rule
    must not run, or the bot would ask again)."""
    events = apply(dispatcher, result)
    if (result.get("data") or {}).get("decision") == "refused" and not result.get("pause"):
        events += [ActiveLoop(None), SlotSet("requested_slot", None), FollowupAction("action_listen")]
    return events


class ActionAskBirthYear(AskSlotAction):
    action_name, template_id = "action_ask_birth_year", "verify.ask_birth_year"


class ActionVerify(Action):
    def name(self) -> str:
        return "action_verify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[EventType]:
        card, year = tracker.get_slot("card_last4"), tracker.get_slot("birth_year")
        if not card or not year:  # nothing to check: Accord says whether to ask (never to a third party)
            try:
                result = await call(tracker.sender_id, "verify/ask", {"intent": None},
                                    language=turn_language(tracker))
            except AccordUnavailable:
                dispatcher.utter_message(json_message=UNAVAILABLE)
                return []
            return refused_or(dispatcher, result)
        return await step(dispatcher, tracker, "verify", {"card_last4": str(card), "birth_year": str(year)})
